using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Lora;

/// <summary>Forward outputs and gradients against PyTorch references (tests/fixtures/make_lora.py).</summary>
public class LoraGoldenTests
{
    private const double Tolerance = 1e-4;

    internal static (LoraLinear Layer, Fixture F) LinearFromFixture(string name, bool training = true)
    {
        var f = Fixture.Load("lora", name);
        var weight = f.Tensor("weight");
        var baseLayer = new Linear(weight.Dim(1), weight.Dim(0), bias: true);
        weight.AsSpan().CopyTo(baseLayer.Weight.AsSpan());
        f.Tensor("bias").AsSpan().CopyTo(baseLayer.Bias!.AsSpan());
        var options = new LoraAdapterOptions(
            Rank: f.Meta.GetProperty("rank").GetInt32(),
            Alpha: (float)f.Meta.GetProperty("alpha").GetDouble(),
            Dropout: (float)f.Meta.GetProperty("dropout").GetDouble(),
            UseRsLora: f.Meta.GetProperty("use_rslora").GetBoolean(),
            UseDora: f.Meta.GetProperty("use_dora").GetBoolean());
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", options, new TensorRandom(1));
        f.Tensor("lora_A").AsSpan().CopyTo(layer.GetLoraA("default").AsSpan());
        f.Tensor("lora_B").AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        if (options.UseDora) f.Tensor("magnitude").AsSpan().CopyTo(layer.GetMagnitude("default")!.AsSpan());
        if (options.Dropout > 0)
        {
            var mask = f.Tensor("mask");
            layer.DropoutMaskOverride = (_, shape) => mask.Reshape(shape);
        }
        layer.Train(training);
        return (layer, f);
    }

    [Theory]
    [InlineData("lora_linear")]
    [InlineData("lora_linear_rslora")]
    [InlineData("lora_linear_dropout")]
    [InlineData("dora_linear")]
    [InlineData("dora_linear_rslora")]
    [InlineData("dora_linear_dropout")]
    public void LinearForwardAndGradients(string name)
    {
        var (layer, f) = LinearFromFixture(name);
        Assert.Equal((float)f.Meta.GetProperty("scaling").GetDouble(), layer.GetScaling("default"), 6);
        var x = f.Tensor("x");
        x.RequiresGrad = true;
        var y = layer.Forward(x);
        TensorAssert.CloseToScale(f.Data("y"), y.ToArray(), Tolerance, "y");
        y.Backward(f.Tensor("g"));
        TensorAssert.CloseToScale(f.Data("dx"), x.Grad!.ToArray(), Tolerance, "dx");
        TensorAssert.CloseToScale(f.Data("dlora_A"), layer.GetLoraA("default").Grad!.ToArray(), Tolerance, "dA");
        TensorAssert.CloseToScale(f.Data("dlora_B"), layer.GetLoraB("default").Grad!.ToArray(), Tolerance, "dB");
        if (layer.GetMagnitude("default") is { } magnitude)
            TensorAssert.CloseToScale(f.Data("dmagnitude"), magnitude.Grad!.ToArray(), Tolerance, "dmagnitude");
        Assert.Null(((Linear)layer.BaseLayer).Weight.Grad);
    }

    [Theory]
    [InlineData("dora_linear")]
    [InlineData("dora_linear_rslora")]
    [InlineData("dora_linear_dropout")]
    public void DoraMagnitudeInitIsTheRowNormOfTheAdaptedWeight(string name)
    {
        var (layer, f) = LinearFromFixture(name);
        using var _ = Tensor.NoGrad();
        var norm = DoraWeightNorm.Compute(BaseWeight.Of(layer.Base), layer.GetLoraA("default"), layer.GetLoraB("default"), layer.GetScaling("default"));
        TensorAssert.CloseToScale(f.Data("magnitude_init"), norm.ToArray(), Tolerance, "m0");
    }

    [Theory]
    [InlineData("lora_linear")]
    [InlineData("lora_linear_rslora")]
    [InlineData("dora_linear")]
    [InlineData("dora_linear_dropout")]
    public void MergedWeightMatchesPeft(string name)
    {
        var (layer, f) = LinearFromFixture(name, training: false);
        var x = f.Tensor("x");
        var unmerged = layer.Forward(x).ToArray();
        var original = layer.GetDenseWeight().ToArray();
        layer.Merge();
        Assert.Equal(["default"], layer.MergedAdapters);
        TensorAssert.CloseToScale(f.Data("merged_weight"), layer.GetDenseWeight().ToArray(), Tolerance, "merged weight");
        // in eval mode (no dropout) the merged layer computes the same function
        TensorAssert.CloseToScale(unmerged, layer.Forward(x).ToArray(), Tolerance, "merged forward");
        layer.Unmerge();
        Assert.Empty(layer.MergedAdapters);
        TensorAssert.CloseToScale(original, layer.GetDenseWeight().ToArray(), 1e-6, "unmerged weight");
        TensorAssert.CloseToScale(unmerged, layer.Forward(x).ToArray(), 1e-5, "unmerged forward");
    }

    [Fact]
    public void EmbeddingForwardGradientsAndMerge()
    {
        var f = Fixture.Load("lora", "lora_embedding");
        var weight = f.Tensor("weight");
        var embedding = new Embedding(weight.Dim(0), weight.Dim(1));
        weight.AsSpan().CopyTo(embedding.Weight.AsSpan());
        var layer = new LoraEmbedding(embedding);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: f.Meta.GetProperty("rank").GetInt32(), Alpha: (float)f.Meta.GetProperty("alpha").GetDouble()), new TensorRandom(2));
        f.Tensor("lora_embedding_A").AsSpan().CopyTo(layer.GetLoraA("default").AsSpan());
        f.Tensor("lora_embedding_B").AsSpan().CopyTo(layer.GetLoraB("default").AsSpan());
        var idsTensor = f.Tensor("ids");
        var ids = idsTensor.ToArray().Select(v => (int)v).ToArray();
        var y = layer.Forward(ids, idsTensor.ShapeArray());
        Assert.Equal([2, 4, 6], y.ShapeArray());
        TensorAssert.CloseToScale(f.Data("y"), y.ToArray(), Tolerance, "y");
        y.Backward(f.Tensor("g"));
        TensorAssert.CloseToScale(f.Data("dlora_embedding_A"), layer.GetLoraA("default").Grad!.ToArray(), Tolerance, "dA");
        TensorAssert.CloseToScale(f.Data("dlora_embedding_B"), layer.GetLoraB("default").Grad!.ToArray(), Tolerance, "dB");
        Assert.Null(embedding.Weight.Grad);

        layer.Merge();
        TensorAssert.CloseToScale(f.Data("merged_weight"), embedding.Weight.ToArray(), Tolerance, "merged");
        TensorAssert.CloseToScale(f.Data("y"), layer.Forward(ids, idsTensor.ShapeArray()).ToArray(), Tolerance, "merged forward");
        layer.Unmerge();
        TensorAssert.CloseToScale(f.Data("weight"), embedding.Weight.ToArray(), 1e-6, "unmerged");
    }

    [Fact]
    public void DoraEmbeddingForwardGradientsAndMerge()
    {
        var f = Fixture.Load("lora", "dora_embedding");
        var weight = f.Tensor("weight");
        var embedding = new Embedding(weight.Dim(0), weight.Dim(1));
        weight.AsSpan().CopyTo(embedding.Weight.AsSpan());
        var layer = new LoraEmbedding(embedding);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: f.Meta.GetProperty("rank").GetInt32(),
            Alpha: (float)f.Meta.GetProperty("alpha").GetDouble(), UseDora: true), new TensorRandom(2));
        Assert.Contains("lora_magnitude_vector.default.weight", layer.NamedParameters().Select(p => p.Name));
        // with A = 0 the initial magnitude is the column norm of E
        var e = weight.ToArray();
        int v = weight.Dim(0), d = weight.Dim(1);
        var m0 = layer.GetMagnitude("default")!.ToArray();
        for (int j = 0; j < d; j++)
            Assert.Equal(Math.Sqrt(Enumerable.Range(0, v).Sum(i => (double)e[i * d + j] * e[i * d + j])), m0[j], 5);

        var a = layer.GetLoraA("default");
        var b = layer.GetLoraB("default");
        f.Tensor("lora_embedding_A").AsSpan().CopyTo(a.AsSpan());
        f.Tensor("lora_embedding_B").AsSpan().CopyTo(b.AsSpan());
        using (Tensor.NoGrad())
            TensorAssert.CloseToScale(f.Data("magnitude_init"), DoraWeightNorm.ComputeForEmbedding(embedding.Weight, a, b, layer.GetScaling("default")).ToArray(), Tolerance, "m0");
        var magnitude = layer.GetMagnitude("default")!;
        f.Tensor("magnitude").AsSpan().CopyTo(magnitude.AsSpan());

        var idsTensor = f.Tensor("ids");
        var ids = idsTensor.ToArray().Select(x => (int)x).ToArray();
        var y = layer.Forward(ids, idsTensor.ShapeArray());
        TensorAssert.CloseToScale(f.Data("y"), y.ToArray(), Tolerance, "y");
        y.Backward(f.Tensor("g"));
        TensorAssert.CloseToScale(f.Data("dlora_embedding_A"), a.Grad!.ToArray(), Tolerance, "dA");
        TensorAssert.CloseToScale(f.Data("dlora_embedding_B"), b.Grad!.ToArray(), Tolerance, "dB");
        TensorAssert.CloseToScale(f.Data("dmagnitude"), magnitude.Grad!.ToArray(), Tolerance, "dm");

        layer.Merge();
        TensorAssert.CloseToScale(f.Data("merged_weight"), embedding.Weight.ToArray(), Tolerance, "merged");
        TensorAssert.CloseToScale(f.Data("y"), layer.Forward(ids, idsTensor.ShapeArray()).ToArray(), Tolerance, "merged forward");
        layer.Unmerge();
        TensorAssert.CloseToScale(f.Data("weight"), embedding.Weight.ToArray(), 1e-6, "unmerged");
    }

    [Theory]
    [InlineData("pissa")]
    [InlineData("pissa_wide")]
    public void PissaMatchesTorchSvd(string name)
    {
        var f = Fixture.Load("lora", name);
        var weight = f.Tensor("weight");
        var baseLayer = new Linear(weight.Dim(1), weight.Dim(0), bias: false);
        weight.AsSpan().CopyTo(baseLayer.Weight.AsSpan());
        var layer = new LoraLinear(baseLayer);
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: f.Meta.GetProperty("rank").GetInt32(),
            Alpha: (float)f.Meta.GetProperty("alpha").GetDouble(), Init: LoraInit.PiSSA), new TensorRandom(3));
        TensorAssert.CloseToScale(f.Data("delta"), layer.GetDeltaWeight("default").ToArray(), Tolerance, "scaling·B·A");
        TensorAssert.CloseToScale(f.Data("residual"), baseLayer.Weight.ToArray(), Tolerance, "residual base");
        // residual + adapter reproduces W
        var x = Tensor.Normal([3, weight.Dim(1)], 0, 1, new TensorRandom(4));
        var expected = Ops.MatMul(x, weight, transposeB: true).ToArray();
        TensorAssert.CloseToScale(expected, layer.Forward(x).ToArray(), Tolerance, "forward");
    }
}
