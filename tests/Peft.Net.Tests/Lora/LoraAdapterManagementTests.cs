using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Lora;

/// <summary>Several adapters on one layer: activation, switching, disabling, deleting, merging, storage dtypes.</summary>
public class LoraAdapterManagementTests
{
    private static LoraLinear TwoAdapters(out Linear baseLayer, bool doraSecond = false, ulong seed = 21)
    {
        var random = new TensorRandom(seed);
        baseLayer = new Linear(10, 6, true, random);
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("first", new LoraAdapterOptions(Rank: 2, Alpha: 4), random);
        layer.AddAdapter("second", new LoraAdapterOptions(Rank: 3, Alpha: 3, UseDora: doraSecond), random);
        foreach (var name in layer.AdapterNames)
            Tensor.Normal(layer.GetLoraB(name).ShapeArray(), 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB(name).AsSpan());
        return layer;
    }

    private static float[] Delta(LoraLinear layer, string name, Tensor x)
    {
        using var _ = Tensor.NoGrad();
        return Ops.MatMul(x, layer.GetDeltaWeight(name), transposeB: true).ToArray();
    }

    private static float[] Sum(params float[][] parts)
    {
        var result = (float[])parts[0].Clone();
        for (int p = 1; p < parts.Length; p++)
            for (int i = 0; i < result.Length; i++) result[i] += parts[p][i];
        return result;
    }

    [Fact]
    public void FirstAdapterIsActiveLaterOnesAreFrozen()
    {
        var layer = TwoAdapters(out _);
        Assert.Equal(["first", "second"], layer.AdapterNames);
        Assert.Equal(["first"], layer.ActiveAdapters);
        Assert.True(layer.GetLoraA("first").RequiresGrad);
        Assert.False(layer.GetLoraA("second").RequiresGrad);
        Assert.False(layer.GetLoraB("second").RequiresGrad);
        Assert.Throws<ArgumentException>(() => layer.AddAdapter("first", new LoraAdapterOptions(), new TensorRandom(1)));
        Assert.Throws<ArgumentException>(() => layer.AddAdapter("a.b", new LoraAdapterOptions(), new TensorRandom(1)));
        Assert.Throws<ArgumentException>(() => layer.AddAdapter("bad", new LoraAdapterOptions(Rank: 0), new TensorRandom(1)));
        Assert.Throws<ArgumentException>(() => layer.SetActiveAdapters("missing"));
    }

    [Fact]
    public void TwoActiveAdaptersAddUpSwitchingAndDisablingWork()
    {
        var layer = TwoAdapters(out var baseLayer);
        var x = Tensor.Normal([4, 10], 0, 1, new TensorRandom(5));
        var b = baseLayer.Forward(x).ToArray();
        var first = Delta(layer, "first", x);
        var second = Delta(layer, "second", x);

        TensorAssert.CloseToScale(Sum(b, first), layer.Forward(x).ToArray(), 1e-5, "first");
        layer.SetActiveAdapters("second");
        Assert.True(layer.GetLoraA("second").RequiresGrad);
        Assert.False(layer.GetLoraA("first").RequiresGrad);
        TensorAssert.CloseToScale(Sum(b, second), layer.Forward(x).ToArray(), 1e-5, "second");
        layer.SetActiveAdapters("first", "second");
        TensorAssert.CloseToScale(Sum(b, first, second), layer.Forward(x).ToArray(), 1e-5, "both");

        layer.AdaptersDisabled = true;
        TensorAssert.BitEqual(b, layer.Forward(x).ToArray(), "disabled");
        layer.AdaptersDisabled = false;
        TensorAssert.CloseToScale(Sum(b, first, second), layer.Forward(x).ToArray(), 1e-5, "enabled again");

        layer.SetActiveAdapters();
        TensorAssert.BitEqual(b, layer.Forward(x).ToArray(), "none active");
    }

    [Fact]
    public void DeletingAnAdapterRemovesItsParametersAndActivatesTheNext()
    {
        var layer = TwoAdapters(out var baseLayer, doraSecond: true);
        Assert.Contains("lora_magnitude_vector.second.weight", layer.NamedParameters().Select(p => p.Name));
        layer.DeleteAdapter("first");
        Assert.Equal(["second"], layer.AdapterNames);
        Assert.Equal(["second"], layer.ActiveAdapters);
        Assert.Equal(["base_layer.weight", "base_layer.bias", "lora_A.second.weight", "lora_B.second.weight", "lora_magnitude_vector.second.weight"],
            layer.NamedParameters().Select(p => p.Name));
        Assert.True(layer.GetLoraA("second").RequiresGrad);
        Assert.Throws<ArgumentException>(() => layer.GetLoraA("first"));
        layer.DeleteAdapter("second");
        Assert.Empty(layer.AdapterNames);
        Assert.Empty(layer.ActiveAdapters);
        var x = Tensor.Normal([2, 10], 0, 1, new TensorRandom(6));
        TensorAssert.BitEqual(baseLayer.Forward(x).ToArray(), layer.Forward(x).ToArray());
    }

    [Fact]
    public void MergingSeveralAdaptersIncludingDoraAndUnmergingInReverse()
    {
        var layer = TwoAdapters(out var baseLayer, doraSecond: true);
        layer.Eval();
        // DoRA first: PEFT's DoRA reuses the running result as its base term, so merged and unmerged outputs agree
        // only when the DoRA adapter comes before plain LoRA adapters in the active order.
        layer.SetActiveAdapters("second", "first");
        var x = Tensor.Normal([5, 10], 0, 1, new TensorRandom(7));
        var original = baseLayer.Weight.ToArray();
        var expected = layer.Forward(x).ToArray();
        layer.Merge();
        Assert.Equal(["second", "first"], layer.MergedAdapters);
        Assert.True(layer.IsMerged);
        TensorAssert.CloseToScale(expected, layer.Forward(x).ToArray(), 1e-5, "merged");
        layer.Merge(); // already merged: nothing happens
        TensorAssert.CloseToScale(expected, layer.Forward(x).ToArray(), 1e-5, "merged twice");
        Assert.Throws<InvalidOperationException>(() => layer.DeleteAdapter("first"));
        layer.Unmerge();
        TensorAssert.CloseToScale(original, baseLayer.Weight.ToArray(), 1e-6, "restored base");
        TensorAssert.CloseToScale(expected, layer.Forward(x).ToArray(), 1e-5, "unmerged");
    }

    [Fact]
    public void DisablingAMergedLayerUnmergesIt()
    {
        var layer = TwoAdapters(out var baseLayer);
        var original = baseLayer.Weight.ToArray();
        var x = Tensor.Normal([3, 10], 0, 1, new TensorRandom(8));
        layer.Merge(["first", "unknown-here"]);
        Assert.Equal(["first"], layer.MergedAdapters);
        layer.AdaptersDisabled = true;
        var y = layer.Forward(x);
        Assert.False(layer.IsMerged);
        TensorAssert.CloseToScale(original, baseLayer.Weight.ToArray(), 1e-6);
        TensorAssert.CloseToScale(baseLayer.Forward(x).ToArray(), y.ToArray(), 1e-6);
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void HalfPrecisionBaseMergesInFloat32AndRunsDoraThroughThePackingHook(DType dtype)
    {
        var random = new TensorRandom(31);
        var reference = new Linear(16, 8, true, random);
        var baseLayer = new Linear(16, 8, true, new TensorRandom(31));
        baseLayer.ReplaceParameter("weight", baseLayer.Weight.To(dtype));
        // the F32 reference holds the same rounded weight
        baseLayer.GetDenseWeight().AsSpan().CopyTo(reference.Weight.AsSpan());
        Assert.NotNull(baseLayer.PackableWeight);
        Assert.Null(reference.PackableWeight);

        var options = new LoraAdapterOptions(Rank: 4, Alpha: 8, UseDora: true);
        var half = new LoraLinear(baseLayer);
        var full = new LoraLinear(reference);
        half.AddAdapter("default", options, new TensorRandom(2));
        full.AddAdapter("default", options, new TensorRandom(2));
        var b = Tensor.Normal([8, 4], 0, 0.3f, new TensorRandom(3));
        b.AsSpan().CopyTo(half.GetLoraB("default").AsSpan());
        b.AsSpan().CopyTo(full.GetLoraB("default").AsSpan());
        TensorAssert.CloseToScale(full.GetMagnitude("default")!.ToArray(), half.GetMagnitude("default")!.ToArray(), 1e-6, "m0");

        var x = Tensor.Normal([3, 16], 0, 1, new TensorRandom(4));
        var expected = full.Forward(x).ToArray();
        TensorAssert.CloseToScale(expected, half.Forward(x).ToArray(), 1e-5, "forward");

        half.Eval();
        half.Merge();
        Assert.Equal(dtype, baseLayer.Weight.DType);
        double tolerance = dtype == DType.F16 ? 2e-3 : 1.6e-2;   // the merged weight is rounded to the storage dtype
        TensorAssert.CloseToScale(expected, half.Forward(x).ToArray(), tolerance, "merged");
        half.Unmerge();
        TensorAssert.CloseToScale(reference.Weight.ToArray(), baseLayer.GetDenseWeight().ToArray(), tolerance, "unmerged");
    }

    [Fact]
    public void DoraInitMagnitudeIsTheBaseRowNormAndTheLayerStartsAsTheBase()
    {
        var random = new TensorRandom(41);
        var baseLayer = new Linear(12, 5, true, random);
        var layer = new DoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2), random);
        Assert.True(layer.GetOptions("default").UseDora);
        var w = baseLayer.Weight.ToArray();
        var m = layer.GetMagnitude("default")!.ToArray();
        for (int o = 0; o < 5; o++)
        {
            double sum = 0;
            for (int j = 0; j < 12; j++) sum += w[o * 12 + j] * (double)w[o * 12 + j];
            Assert.Equal(Math.Sqrt(sum), m[o], 5);
        }
        var x = Tensor.Normal([3, 12], 0, 1, random);
        TensorAssert.CloseToScale(baseLayer.Forward(x).ToArray(), layer.Forward(x).ToArray(), 1e-6);
    }

    [Fact]
    public void BadInputsAreRejectedWithClearMessages()
    {
        var layer = TwoAdapters(out _);
        var error = Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(2, 9)));
        Assert.Contains("10 input features", error.Message);
        Assert.Throws<ArgumentException>(() => layer.GetDeltaWeight("nope"));
        var pissaTooLarge = Assert.Throws<ArgumentException>(() =>
            layer.AddAdapter("p", new LoraAdapterOptions(Rank: 7, Init: LoraInit.PiSSA), new TensorRandom(1)));
        Assert.Contains("rank 7", pissaTooLarge.Message);
    }
}
