using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Lora;

public class LoraLinearTests
{
    private static Tensor RandomInput(TensorRandom random, params int[] shape) => Tensor.Normal(shape, 0, 1, random);

    private static (Linear Base, LoraLinear Layer) Make(LoraAdapterOptions options, int inFeatures = 12, int outFeatures = 10, bool bias = true, ulong seed = 1)
    {
        var random = new TensorRandom(seed);
        var baseLayer = new Linear(inFeatures, outFeatures, bias, random);
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", options, random);
        // B starts at zero; give it values so the update is visible.
        var b = layer.GetLoraB("default");
        Tensor.Normal(b.ShapeArray(), 0, 0.5f, random).AsSpan().CopyTo(b.AsSpan());
        return (baseLayer, layer);
    }

    // Reference: base(x) + scaling · x·Aᵀ·Bᵀ computed with plain MatMul.
    private static float[] Reference(Linear baseLayer, LoraLinear layer, Tensor x, string name = "default")
    {
        using var _ = Tensor.NoGrad();
        var y = baseLayer.Forward(x).ToArray();
        var delta = Ops.MatMul(Ops.MatMul(x, layer.GetLoraA(name), transposeB: true), layer.GetLoraB(name), transposeB: true).ToArray();
        float s = layer.GetScaling(name);
        for (int i = 0; i < y.Length; i++) y[i] += s * delta[i];
        return y;
    }

    [Fact]
    public void NamesMirrorPeft()
    {
        var (_, layer) = Make(new LoraAdapterOptions(Rank: 4, Alpha: 8, UseDora: true));
        var names = layer.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Equal(["base_layer.weight", "base_layer.bias", "lora_A.default.weight", "lora_B.default.weight", "lora_magnitude_vector.default.weight"], names);
        Assert.False(layer.NamedParameters().First().Parameter.RequiresGrad);
        Assert.True(layer.GetLoraA("default").RequiresGrad);
        Assert.Equal([4, 12], layer.GetLoraA("default").ShapeArray());
        Assert.Equal([10, 4], layer.GetLoraB("default").ShapeArray());
        Assert.Equal([10], layer.GetMagnitude("default")!.ShapeArray());
    }

    [Fact]
    public void ForwardMatchesReference()
    {
        var (baseLayer, layer) = Make(new LoraAdapterOptions(Rank: 4, Alpha: 16));
        var x = RandomInput(new TensorRandom(5), 2, 3, 12);
        var y = layer.Forward(x);
        Assert.Equal([2, 3, 10], y.ShapeArray());
        TensorAssert.CloseToScale(Reference(baseLayer, layer, x), y.ToArray(), 1e-5);
    }

    [Fact]
    public void DefaultInitIsANoOp()
    {
        var random = new TensorRandom(3);
        var baseLayer = new Linear(20, 7, true, random);
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(), random);
        var a = layer.GetLoraA("default").ToArray();
        float bound = 1f / MathF.Sqrt(20);
        Assert.All(a, v => Assert.InRange(v, -bound, bound));
        Assert.All(layer.GetLoraB("default").ToArray(), v => Assert.Equal(0f, v));
        var x = RandomInput(random, 5, 20);
        TensorAssert.BitEqual(baseLayer.Forward(x).ToArray(), layer.Forward(x).ToArray());
    }

    [Fact]
    public void GradientsOfLora()
    {
        var (_, layer) = Make(new LoraAdapterOptions(Rank: 3, Alpha: 6));
        var x = RandomInput(new TensorRandom(7), 4, 12);
        x.RequiresGrad = true;
        var a = layer.GetLoraA("default");
        var b = layer.GetLoraB("default");
        GradCheck.Assert(inputs => layer.Forward(inputs[0]), [x, a, b]);
    }
}
