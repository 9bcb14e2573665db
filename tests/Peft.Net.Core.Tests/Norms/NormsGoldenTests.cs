using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

/// <summary>
/// Forward outputs and input gradients against PyTorch (tests/fixtures/make_norms.py): nn.Linear, Hugging Face
/// LlamaRMSNorm (also fused with the residual add), layer_norm, Llama rotary embedding and cross-entropy.
/// </summary>
public class NormsGoldenTests
{
    private const double Tolerance = 1e-4;

    private static Tensor Input(Fixture fixture, string name)
    {
        var t = fixture.Tensor(name);
        t.RequiresGrad = true;
        return t;
    }

    private static void AssertMatches(Fixture fixture, string expectedName, Tensor actual)
    {
        var expected = fixture.Tensor(expectedName);
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        TensorAssert.CloseToScale(expected.ToArray(), actual.ToArray(), Tolerance, expectedName);
    }

    private static int[] Ints(Fixture fixture, string name) => fixture.Data(name).Select(v => (int)v).ToArray();

    [Fact]
    public void Linear_matches_PyTorch()
    {
        var f = Fixture.Load("norms", "linear");
        Tensor x = Input(f, "x"), w = Input(f, "weight"), b = Input(f, "bias");
        var y = Ops.Linear(x, w, b);
        y.Backward(f.Tensor("g"));
        AssertMatches(f, "y", y);
        AssertMatches(f, "dx", x.Grad!);
        AssertMatches(f, "dweight", w.Grad!);
        AssertMatches(f, "dbias", b.Grad!);
    }

    [Fact]
    public void RmsNorm_matches_Hugging_Face_LlamaRMSNorm()
    {
        var f = Fixture.Load("norms", "rms_norm");
        Tensor x = Input(f, "x"), w = Input(f, "weight");
        var y = Ops.RmsNorm(x, w, f.Meta.GetProperty("eps").GetSingle());
        y.Backward(f.Tensor("g"));
        AssertMatches(f, "y", y);
        AssertMatches(f, "dx", x.Grad!);
        AssertMatches(f, "dweight", w.Grad!);
    }

    [Fact]
    public void AddRmsNorm_matches_residual_add_then_LlamaRMSNorm_with_gradients_on_both_outputs()
    {
        var f = Fixture.Load("norms", "add_rms_norm");
        Tensor residual = Input(f, "residual"), x = Input(f, "x"), w = Input(f, "weight");
        var (sum, normed) = Ops.AddRmsNorm(residual, x, w, f.Meta.GetProperty("eps").GetSingle());
        AssertMatches(f, "sum", sum);
        AssertMatches(f, "normed", normed);
        // Two backward passes accumulate into the leaves: the loss is Σ g_sum·sum + Σ g_normed·normed.
        sum.Backward(f.Tensor("g_sum"));
        normed.Backward(f.Tensor("g_normed"));
        AssertMatches(f, "dresidual", residual.Grad!);
        AssertMatches(f, "dx", x.Grad!);
        AssertMatches(f, "dweight", w.Grad!);
    }

    [Fact]
    public void LayerNorm_matches_PyTorch_with_and_without_affine()
    {
        var f = Fixture.Load("norms", "layer_norm");
        Tensor x = Input(f, "x"), w = Input(f, "weight"), b = Input(f, "bias");
        float eps = f.Meta.GetProperty("eps").GetSingle();
        var y = Ops.LayerNorm(x, w, b, eps);
        y.Backward(f.Tensor("g"));
        AssertMatches(f, "y", y);
        AssertMatches(f, "dx", x.Grad!);
        AssertMatches(f, "dweight", w.Grad!);
        AssertMatches(f, "dbias", b.Grad!);

        var plain = Fixture.Load("norms", "layer_norm_no_affine");
        var xp = Input(plain, "x");
        var yp = Ops.LayerNorm(xp, null, null, eps);
        yp.Backward(plain.Tensor("g"));
        AssertMatches(plain, "y", yp);
        AssertMatches(plain, "dx", xp.Grad!);
    }

    [Theory]
    [InlineData("rotary_theta10000", false)]
    [InlineData("rotary_theta500000", true)]
    [InlineData("rotary_llama3", false)]
    public void Rotary_matches_Hugging_Face_apply_rotary_pos_emb(string name, bool perBatchPositions)
    {
        var f = Fixture.Load("norms", name);
        var x = Input(f, "x");
        int batch = x.Dim(0), steps = x.Dim(2), headDim = x.Dim(3);
        int[] positions = Ints(f, "positions"); // [B, T]
        Llama3RopeScaling? scaling = f.Meta.TryGetProperty("factor", out var factor)
            ? new Llama3RopeScaling(factor.GetDouble(), f.Meta.GetProperty("low_freq_factor").GetDouble(),
                f.Meta.GetProperty("high_freq_factor").GetDouble(), f.Meta.GetProperty("old_context_len").GetInt32())
            : null;
        var rope = new RotaryEmbedding(headDim, positions.Max() + 1, f.Meta.GetProperty("theta").GetDouble(), scaling);

        TensorAssert.BitEqual(f.Data("inv_freq"), rope.InverseFrequencies.ToArray(), name + " inv_freq (float32 steps as PyTorch)");
        var cos = rope.Cos.AsSpan();
        var sin = rope.Sin.AsSpan();
        var expectedCos = f.Data("cos");
        var expectedSin = f.Data("sin");
        var actualCos = new float[expectedCos.Length];
        var actualSin = new float[expectedSin.Length];
        for (int i = 0; i < positions.Length; i++)
        {
            cos.Slice(positions[i] * headDim, headDim).CopyTo(actualCos.AsSpan(i * headDim));
            sin.Slice(positions[i] * headDim, headDim).CopyTo(actualSin.AsSpan(i * headDim));
        }
        TensorAssert.CloseToScale(expectedCos, actualCos, Tolerance, name + " cos");
        TensorAssert.CloseToScale(expectedSin, actualSin, Tolerance, name + " sin");

        var y = perBatchPositions ? rope.Apply(x, positions) : rope.Apply(x, positions.AsSpan(0, steps));
        Assert.True(perBatchPositions || positions.AsSpan(0, steps).SequenceEqual(positions.AsSpan((batch - 1) * steps, steps)));
        y.Backward(f.Tensor("g"));
        AssertMatches(f, "y", y);
        AssertMatches(f, "dx", x.Grad!);
    }

    [Theory]
    [InlineData("cross_entropy")]
    [InlineData("cross_entropy_btv")]
    public void CrossEntropy_matches_PyTorch_with_ignore_index(string name)
    {
        var f = Fixture.Load("norms", name);
        var logits = Input(f, "logits");
        var loss = Ops.CrossEntropy(logits, Ints(f, "targets"), f.Meta.GetProperty("ignore_index").GetInt32());
        AssertMatches(f, "loss", loss);
        loss.Backward(f.Tensor("g"));
        AssertMatches(f, "dlogits", logits.Grad!);
    }
}
