using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

public class LayerNormTests
{
    private static Tensor Leaf(int[] shape, TensorRandom random, float std = 1f, float mean = 0f)
    {
        var t = Tensor.Normal(shape, mean, std, random);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void LayerNorm_gradients_to_input_weight_and_bias_match_finite_differences()
    {
        var random = new TensorRandom(21);
        foreach (int c in new[] { 2, 7, 18 })
        {
            var x = Leaf([2, 3, c], random, 1.5f, 0.5f);
            var w = Leaf([c], random, 0.5f, 1f);
            var b = Leaf([c], random);
            GradCheck.Assert(t => Ops.LayerNorm(t[0], t[1], t[2], 1e-5f), [x, w, b]);
            GradCheck.Assert(t => Ops.LayerNorm(t[0], t[1], null, 1e-5f), [x, w]);
            GradCheck.Assert(t => Ops.LayerNorm(t[0], null, t[1], 1e-5f), [x, b]);
            GradCheck.Assert(t => Ops.LayerNorm(t[0], null, null, 1e-5f), [x]);
        }
    }

    [Fact]
    public void LayerNorm_output_rows_have_zero_mean_and_unit_biased_variance()
    {
        var x = Tensor.Normal([5, 64], 3f, 2f, new TensorRandom(22));
        var y = Ops.LayerNorm(x, null, null, 0f).ToArray();
        for (int r = 0; r < 5; r++)
        {
            var row = y.AsSpan(r * 64, 64).ToArray();
            double mean = row.Average(v => (double)v);
            double variance = row.Average(v => (v - mean) * (v - mean));
            Assert.True(Math.Abs(mean) < 1e-5, $"row {r} mean {mean}");
            Assert.True(Math.Abs(variance - 1) < 1e-4, $"row {r} variance {variance}");
        }
    }

    [Fact]
    public void Module_parameters_follow_PyTorch_names_and_initial_values()
    {
        var affine = new Core.Nn.LayerNorm(4);
        Assert.Equal(["weight", "bias"], affine.NamedParameters().Select(p => p.Name));
        Assert.All(affine.Weight!.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(affine.Bias!.ToArray(), v => Assert.Equal(0f, v));
        var plain = new Core.Nn.LayerNorm(4, 1e-6f, elementwiseAffine: false);
        Assert.Empty(plain.NamedParameters());
        var noBias = new Core.Nn.LayerNorm(4, bias: false);
        Assert.Equal(["weight"], noBias.NamedParameters().Select(p => p.Name));
        var x = Tensor.Normal([3, 4], 0, 1, new TensorRandom(23));
        TensorAssert.BitEqual(Ops.LayerNorm(x, null, null, 1e-6f).ToArray(), plain.Forward(x).ToArray(), "module forward");
    }

    [Fact]
    public void A_bias_of_the_wrong_size_is_rejected()
    {
        var bias = Tensor.Zeros(5);
        bias.Name = "ln.bias";
        var ex = Assert.Throws<ArgumentException>(() => Ops.LayerNorm(Tensor.Zeros(2, 4), Tensor.Ones(4), bias));
        Assert.Contains("ln.bias", ex.Message);
    }
}
