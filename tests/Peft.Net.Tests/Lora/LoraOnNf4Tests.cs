using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Lora;

/// <summary>QLoRA: LoRA and DoRA adapters over a frozen 4-bit base layer.</summary>
public class LoraOnNf4Tests
{
    private static (Nf4Linear Quantized, Linear Dequantized) Bases()
    {
        var source = new Linear(64, 24, true, new TensorRandom(5));
        var quantized = Nf4Linear.FromLinear(source, QuantType.Nf4, blockSize: 64, doubleQuant: true);
        var dequantized = new Linear(64, 24, true, new TensorRandom(5));
        quantized.GetDenseWeight().AsSpan().CopyTo(dequantized.Weight.AsSpan());
        return (quantized, dequantized);
    }

    private static void CopyAdapter(LoraLinear from, LoraLinear to)
    {
        from.GetLoraA("default").AsSpan().CopyTo(to.GetLoraA("default").AsSpan());
        from.GetLoraB("default").AsSpan().CopyTo(to.GetLoraB("default").AsSpan());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AdapterOverFourBitBaseMatchesTheDequantizedBase(bool useDora)
    {
        var (quantized, dequantized) = Bases();
        Assert.Same(quantized.Weight, quantized.PackableWeight);
        var options = new LoraAdapterOptions(Rank: 4, Alpha: 8, UseDora: useDora);
        var qlora = new LoraLinear(quantized);
        var reference = new LoraLinear(dequantized);
        qlora.AddAdapter("default", options, new TensorRandom(1));
        reference.AddAdapter("default", options, new TensorRandom(1));
        Tensor.Normal([24, 4], 0, 0.3f, new TensorRandom(2)).AsSpan().CopyTo(qlora.GetLoraB("default").AsSpan());
        CopyAdapter(qlora, reference);
        if (useDora)
            TensorAssert.CloseToScale(reference.GetMagnitude("default")!.ToArray(), qlora.GetMagnitude("default")!.ToArray(), 1e-6, "m0");

        var x = Tensor.Normal([2, 3, 64], 0, 1, new TensorRandom(3));
        x.RequiresGrad = true;
        var y = qlora.Forward(x);
        TensorAssert.CloseToScale(reference.Forward(x).ToArray(), y.ToArray(), 1e-5, "forward");
        y.Backward(Tensor.Ones(y.ShapeArray()));
        Assert.NotNull(qlora.GetLoraA("default").Grad);
        Assert.NotNull(x.Grad);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergeRequantizesTheAdaptedWeight(bool useDora)
    {
        var (quantized, dequantized) = Bases();
        var qlora = new LoraLinear(quantized);
        var reference = new LoraLinear(dequantized);
        var options = new LoraAdapterOptions(Rank: 4, Alpha: 8, UseDora: useDora);
        qlora.AddAdapter("default", options, new TensorRandom(1));
        reference.AddAdapter("default", options, new TensorRandom(1));
        Tensor.Normal([24, 4], 0, 0.3f, new TensorRandom(2)).AsSpan().CopyTo(qlora.GetLoraB("default").AsSpan());
        CopyAdapter(qlora, reference);
        var original = quantized.GetDenseWeight().ToArray();

        reference.Merge();   // exact float32 merge of the same dequantized base
        qlora.Merge();
        var expected = Nf4Quantizer.Quantize(reference.GetDenseWeight(), QuantType.Nf4, 64, doubleQuant: true).Dequantize().ToArray();
        TensorAssert.BitEqual(expected, quantized.GetDenseWeight().ToArray(), "requantized merge");
        Assert.Equal(QuantType.Nf4, quantized.Weight.QuantType);
        Assert.True(quantized.Weight.IsDoubleQuantized);

        qlora.Unmerge();
        // 4-bit rounding is not undone exactly (bitsandbytes warns about the same): within a quantization step
        double scale = original.Max(Math.Abs);
        TensorAssert.CloseToScale(original, quantized.GetDenseWeight().ToArray(), 0.2 * Math.Max(1, scale), "unmerged");
    }

    [Fact]
    public void DoraWithDropoutReadsTheFourBitWeightForTheExtraBaseProduct()
    {
        var (quantized, dequantized) = Bases();
        var options = new LoraAdapterOptions(Rank: 4, Alpha: 8, Dropout: 0.25f, UseDora: true);
        var qdora = new LoraLinear(quantized);
        var reference = new LoraLinear(dequantized);
        qdora.AddAdapter("default", options, new TensorRandom(1));
        reference.AddAdapter("default", options, new TensorRandom(1));
        Tensor.Normal([24, 4], 0, 0.3f, new TensorRandom(2)).AsSpan().CopyTo(qdora.GetLoraB("default").AsSpan());
        CopyAdapter(qdora, reference);
        var mask = Tensor.Uniform([6, 64], 0, 1, new TensorRandom(3));
        foreach (ref var value in mask.AsSpan()) value = value >= 0.25f ? 1f / 0.75f : 0f;
        qdora.DropoutMaskOverride = (_, shape) => mask.Reshape(shape);
        reference.DropoutMaskOverride = (_, shape) => mask.Reshape(shape);

        var x = Tensor.Normal([6, 64], 0, 1, new TensorRandom(4));
        x.RequiresGrad = true;
        var expected = reference.Forward(x);
        expected.Backward(Tensor.Ones(6, 24));
        var expectedGrad = x.Grad!.ToArray();
        x.Grad = null;
        var y = qdora.Forward(x);
        TensorAssert.CloseToScale(expected.ToArray(), y.ToArray(), 1e-5, "forward");
        y.Backward(Tensor.Ones(6, 24));
        TensorAssert.CloseToScale(expectedGrad, x.Grad!.ToArray(), 1e-5, "dx");
        TensorAssert.CloseToScale(reference.GetMagnitude("default")!.Grad!.ToArray(), qdora.GetMagnitude("default")!.Grad!.ToArray(), 1e-5, "dm");
    }
}
