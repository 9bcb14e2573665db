using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Lora;

/// <summary>Finite-difference checks of every fused LoRA-family op and layer.</summary>
public class LoraOpsGradientTests
{
    // A 7 → 5 linear layer without bias whose weight is frozen: the base the fused LoRA and DoRA ops take.
    private static Peft.Net.Core.Nn.Linear FrozenBiasFreeBase(TensorRandom random)
    {
        var layer = new Peft.Net.Core.Nn.Linear(7, 5, false, random);
        layer.Weight.RequiresGrad = false;
        return layer;
    }

    private static Tensor Leaf(TensorRandom random, float scale, params int[] shape)
    {
        var t = Tensor.Normal(shape, 0, scale, random);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void AddLowRank()
    {
        var random = new TensorRandom(11);
        Tensor y0 = Leaf(random, 1, 6, 5), u = Leaf(random, 1, 6, 3), b = Leaf(random, 1, 5, 3);
        GradCheck.Assert(t => LoraOps.AddLowRank(t[0], t[1], t[2], 1.7f), [y0, u, b]);
    }

    [Fact]
    public void DoraComposeReusingTheBaseOutput()
    {
        var random = new TensorRandom(12);
        Tensor y0 = Leaf(random, 1, 6, 5), bias = Leaf(random, 1, 5), u = Leaf(random, 1, 6, 3), b = Leaf(random, 1, 5, 3),
            magnitude = Leaf(random, 1, 5);
        var norm = Tensor.FromArray([1.5f, 0.7f, 2.2f, 1.1f, 0.9f]);
        GradCheck.Assert(t => LoraOps.DoraCompose(t[0], null, t[1], t[2], t[3], t[4], norm, 0.8f), [y0, bias, u, b, magnitude]);
    }

    [Fact]
    public void DoraComposeWithASeparateBaseTerm()
    {
        var random = new TensorRandom(13);
        Tensor y0 = Leaf(random, 1, 4, 5), p = Leaf(random, 1, 4, 5), u = Leaf(random, 1, 4, 2), b = Leaf(random, 1, 5, 2),
            magnitude = Leaf(random, 1, 5);
        var norm = Tensor.FromArray([1.5f, 0.7f, 2.2f, 1.1f, 0.9f]);
        GradCheck.Assert(t => LoraOps.DoraCompose(t[0], t[1], null, t[2], t[3], t[4], norm, 2f), [y0, p, u, b, magnitude]);
    }

    [Fact]
    public void GatherColumnsScatterAddsRepeatedIds()
    {
        var random = new TensorRandom(14);
        var a = Leaf(random, 1, 3, 7);
        int[] ids = [1, 4, 1, 6, 0, 4];
        GradCheck.Assert(t => LoraOps.GatherColumns(t[0], ids), [a]);
        Assert.Throws<ArgumentOutOfRangeException>(() => LoraOps.GatherColumns(a, [7]));
    }

    internal static Tensor Mask(int[] shape, float p, TensorRandom random)
    {
        var mask = Tensor.Zeros(shape);
        var span = mask.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] = random.NextSingle() >= p ? 1f / (1f - p) : 0f;
        return mask;
    }

    [Fact]
    public void DropoutAppliesToTheAdapterBranchInTrainingOnly()
    {
        var random = new TensorRandom(15);
        var baseLayer = new Peft.Net.Core.Nn.Linear(8, 5, true, random);
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 4, Dropout: 1f), random);
        Tensor.Normal([5, 2], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var x = Tensor.Normal([6, 8], 0, 1, random);
        var baseOutput = baseLayer.Forward(x).ToArray();
        // p = 1 drops the whole branch input: the base path still sees the clean x
        TensorAssert.BitEqual(baseOutput, layer.Forward(x).ToArray(), "training, p = 1");
        layer.Eval();
        Assert.NotEqual(baseOutput, layer.Forward(x).ToArray());

        var half = new LoraLinear(new Peft.Net.Core.Nn.Linear(8, 5, true, new TensorRandom(1)));
        half.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 4, Dropout: 0.5f), new TensorRandom(2));
        Tensor.Normal([5, 2], 0, 0.5f, random).AsSpan().CopyTo(half.GetLoraB("default").AsSpan());
        var first = half.Forward(x).ToArray();
        var second = half.Forward(x).ToArray();
        Assert.NotEqual(first, second);   // a new mask per step
        half.Eval();
        TensorAssert.BitEqual(half.Forward(x).ToArray(), half.Forward(x).ToArray(), "eval is deterministic");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // no bias: DoRA runs as one GEMM and a column scale (DoraLinearPlusLowRank)
    public void DoraLinearLayerInputAndMagnitude(bool bias)
    {
        // The DoRA norm is detached, so A and B are checked through the op above and the golden fixtures;
        // the layer's input and magnitude gradients are exact.
        var random = new TensorRandom(16);
        var baseLayer = new Peft.Net.Core.Nn.Linear(9, 7, bias, random);
        var layer = new DoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 3, Alpha: 6), random);
        Tensor.Normal([7, 3], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var magnitude = layer.GetMagnitude("default")!;
        Tensor.Uniform([7], 0.5f, 2f, random).AsSpan().CopyTo(magnitude.AsSpan());
        var x = Leaf(random, 1, 2, 3, 9);
        GradCheck.Assert(t => layer.Forward(t[0]), [x, magnitude]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // no bias: the base product and the update run as one GEMM (LinearPlusLowRank)
    public void LoraLinearWithDropoutMask(bool bias)
    {
        var random = new TensorRandom(17);
        var layer = new LoraLinear(new Peft.Net.Core.Nn.Linear(8, 5, bias, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 4, Dropout: 0.4f), random);
        Tensor.Normal([5, 2], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var mask = Mask([6, 8], 0.4f, random);
        layer.DropoutMaskOverride = (_, shape) => mask.Reshape(shape);
        var x = Leaf(random, 1, 6, 8);
        GradCheck.Assert(t => layer.Forward(t[0]), [x, layer.GetLoraA("default"), layer.GetLoraB("default")]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // no bias: one op makes u = x·Aᵀ, and its backward adds du·A to dx inside the base input-gradient GEMM
    public void LoraLinearWithoutDropoutAndAnInputReadTwice(bool bias)
    {
        // The second read finds x's gradient already written: the fused input gradient must add to it.
        var random = new TensorRandom(19);
        var layer = new LoraLinear(new Peft.Net.Core.Nn.Linear(8, 5, bias, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 4), random);
        Tensor.Normal([5, 2], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var x = Leaf(random, 1, 6, 8);
        GradCheck.Assert(t => Ops.Add(layer.Forward(t[0]), Ops.Mul(layer.Forward(t[0]), layer.Forward(t[0]))),
            [x, layer.GetLoraA("default"), layer.GetLoraB("default")]);
    }

    [Fact]
    public void LinearPlusLowRankWithItsOwnDownProjection()
    {
        var random = new TensorRandom(21);
        var baseLayer = FrozenBiasFreeBase(random);
        Tensor x = Leaf(random, 1, 6, 7), a = Leaf(random, 1, 3, 7), b = Leaf(random, 1, 5, 3), magnitude = Leaf(random, 1, 5);
        GradCheck.Assert(t => LoraOps.LinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), LowRankInput.FromA(t[1]), t[2], 1.3f), [x, a, b]);
        var norm = Tensor.FromArray([1.5f, 0.7f, 2.2f, 1.1f, 0.9f]);
        GradCheck.Assert(t => LoraOps.DoraLinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), LowRankInput.FromA(t[1]), t[2], t[3], norm, 0.8f),
            [x, a, b, magnitude]);
        // Only A or only x trained: the other's gradient is not computed.
        GradCheck.Assert(t => LoraOps.LinearPlusLowRank(x.Detach(), BaseWeight.Of(baseLayer), LowRankInput.FromA(t[0]), b.Detach(), 1.3f), [a]);
        GradCheck.Assert(t => LoraOps.LinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), LowRankInput.FromA(a.Detach()), b.Detach(), 1.3f), [x]);
    }

    [Fact]
    public void LinearPlusLowRank()
    {
        var random = new TensorRandom(20);
        var baseLayer = FrozenBiasFreeBase(random);
        Tensor x = Leaf(random, 1, 6, 7), u = Leaf(random, 1, 6, 3), b = Leaf(random, 1, 5, 3);
        GradCheck.Assert(t => LoraOps.LinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), t[1], t[2], 1.3f), [x, u, b]);
    }

    [Fact]
    public void DoraLinearPlusLowRank()
    {
        var random = new TensorRandom(22);
        var baseLayer = FrozenBiasFreeBase(random);
        Tensor x = Leaf(random, 1, 6, 7), u = Leaf(random, 1, 6, 3), b = Leaf(random, 1, 5, 3), magnitude = Leaf(random, 1, 5);
        var norm = Tensor.FromArray([1.5f, 0.7f, 2.2f, 1.1f, 0.9f]);
        GradCheck.Assert(t => LoraOps.DoraLinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), t[1], t[2], t[3], norm, 0.8f), [x, u, b, magnitude]);
    }

    [Fact]
    public void DoraLinearPlusLowRankWithAZeroMagnitude()
    {
        // The magnitude's gradient is Σ g⊙y / magnitude from the kept output y; where a magnitude is 0 its column of y
        // is 0, so the op keeps z = x·Wᵀ + scaling·u·Bᵀ too and divides Σ g⊙z by the norm: both columns must be right.
        var random = new TensorRandom(23);
        var baseLayer = FrozenBiasFreeBase(random);
        Tensor x = Leaf(random, 1, 6, 7), u = Leaf(random, 1, 6, 3), b = Leaf(random, 1, 5, 3);
        var magnitude = Tensor.FromArray([0.8f, 0f, -1.2f, 1.4f, 0.6f]);
        magnitude.RequiresGrad = true;
        var norm = Tensor.FromArray([1.5f, 0.7f, 2.2f, 1.1f, 0.9f]);
        GradCheck.Assert(t => LoraOps.DoraLinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), t[1], t[2], t[3], norm, 0.8f), [x, u, b, magnitude]);
        GradCheck.Assert(t => LoraOps.DoraLinearPlusLowRank(t[0], BaseWeight.Of(baseLayer), LowRankInput.FromA(t[1]), t[2], t[3], norm, 0.8f),
            [x, Leaf(random, 1, 3, 7), b, magnitude]);
    }

    [Fact]
    public void LoraEmbeddingLayer()
    {
        var random = new TensorRandom(18);
        var layer = new LoraEmbedding(new Peft.Net.Core.Nn.Embedding(11, 4, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 3), random);
        Tensor.Normal([2, 11], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraA("default").AsSpan());
        int[] ids = [3, 0, 10, 3, 7, 7];
        GradCheck.Assert(_ => layer.Forward(ids, 2, 3), [layer.GetLoraA("default"), layer.GetLoraB("default")]);
    }

    [Fact]
    public void DoraEmbeddingLayerMagnitude()
    {
        var random = new TensorRandom(19);
        var layer = new LoraEmbedding(new Peft.Net.Core.Nn.Embedding(11, 4, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2, Alpha: 3, UseDora: true), random);
        Tensor.Normal([2, 11], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraA("default").AsSpan());
        var magnitude = layer.GetMagnitude("default")!;
        Tensor.Uniform([4], 0.5f, 2f, random).AsSpan().CopyTo(magnitude.AsSpan());
        int[] ids = [3, 0, 10, 3, 7, 7];
        GradCheck.Assert(_ => layer.Forward(ids, 2, 3), [magnitude]);
    }
}
