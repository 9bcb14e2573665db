using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

public class RmsNormTests
{
    private static Tensor Leaf(int[] shape, TensorRandom random, float std = 1f, float mean = 0f)
    {
        var t = Tensor.Normal(shape, mean, std, random);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void RmsNorm_gradients_to_input_and_weight_match_finite_differences()
    {
        var random = new TensorRandom(1);
        foreach (int c in new[] { 1, 7, 19 })
        {
            var x = Leaf([2, 3, c], random, 1.5f, 0.2f);
            var w = Leaf([c], random, 0.5f, 1f);
            GradCheck.Assert(t => Ops.RmsNorm(t[0], t[1], 1e-6f), [x, w]);
        }
    }

    [Fact]
    public void RmsNorm_of_a_known_row_follows_the_formula()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f], 1, 4);
        var w = Tensor.FromArray([1f, 0.5f, 2f, -1f], 4);
        var y = Ops.RmsNorm(x, w, 1e-6f).ToArray();
        double rstd = 1 / Math.Sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        TensorAssert.Close([(float)(rstd * 1), (float)(rstd * 1), (float)(rstd * 6), (float)(rstd * -4)], y, 1e-6, 1e-6, "rms norm");
    }

    [Fact]
    public void AddRmsNorm_gradients_of_both_outputs_match_finite_differences()
    {
        var random = new TensorRandom(2);
        var residual = Leaf([2, 3, 9], random);
        var x = Leaf([2, 3, 9], random, 2f);
        var w = Leaf([9], random, 0.5f, 1f);
        Tensor[] inputs = [residual, x, w];
        GradCheck.Assert(t =>
        {
            var (sum, normed) = Ops.AddRmsNorm(t[0], t[1], t[2]);
            return Tensor.Concat([sum, normed], dim: -1);
        }, inputs);
        GradCheck.Assert(t => Ops.AddRmsNorm(t[0], t[1], t[2]).Normed, inputs);
        var sumOnly = new[] { residual, x };
        GradCheck.Assert(t => Ops.AddRmsNorm(t[0], t[1], w).Sum, sumOnly);
    }

    [Fact]
    public void AddRmsNorm_equals_Add_then_RmsNorm_in_values_and_gradients()
    {
        var random = new TensorRandom(3);
        var residual = Leaf([4, 33], random);
        var x = Leaf([4, 33], random);
        var w = Leaf([33], random, 0.3f, 1f);
        var upstream = Tensor.Normal([4, 33], 0, 1, random);

        var (sum, normed) = Ops.AddRmsNorm(residual, x, w, 1e-5f);
        normed.Backward(upstream);
        var fused = (residual.Grad!.ToArray(), x.Grad!.ToArray(), w.Grad!.ToArray());
        residual.Grad = x.Grad = w.Grad = null;

        var sum2 = Ops.Add(residual, x);
        var normed2 = Ops.RmsNorm(sum2, w, 1e-5f);
        normed2.Backward(upstream);
        TensorAssert.BitEqual(sum2.ToArray(), sum.ToArray(), "sum");
        TensorAssert.Close(normed2.ToArray(), normed.ToArray(), 1e-6, 1e-6, "normed");
        TensorAssert.Close(residual.Grad!.ToArray(), fused.Item1, 1e-6, 1e-5, "dresidual");
        TensorAssert.Close(x.Grad!.ToArray(), fused.Item2, 1e-6, 1e-5, "dx");
        TensorAssert.Close(w.Grad!.ToArray(), fused.Item3, 1e-6, 1e-5, "dweight");
    }

    [Fact]
    public void Frozen_weight_gets_no_gradient_and_input_still_does()
    {
        var random = new TensorRandom(4);
        var x = Leaf([3, 5], random);
        var w = Tensor.Ones(5);
        GradCheck.Assert(t => Ops.RmsNorm(t[0], w), [x]);
        Assert.Null(w.Grad);
    }

    [Fact]
    public void Module_has_a_ones_weight_named_like_PyTorch_and_matches_the_op()
    {
        var norm = new Core.Nn.RmsNorm(6, 1e-5f);
        Assert.Equal(["weight"], norm.NamedParameters().Select(p => p.Name));
        Assert.All(norm.Weight.ToArray(), v => Assert.Equal(1f, v));
        Assert.True(norm.Weight.RequiresGrad);
        var x = Tensor.Normal([2, 6], 0, 1, new TensorRandom(5));
        TensorAssert.BitEqual(Ops.RmsNorm(x, norm.Weight, 1e-5f).ToArray(), norm.Forward(x).ToArray(), "module forward");
        var residual = Tensor.Normal([2, 6], 0, 1, new TensorRandom(6));
        var (sum, normed) = norm.AddAndNorm(residual, x);
        TensorAssert.BitEqual(Ops.Add(residual, x).ToArray(), sum.ToArray(), "module sum");
        TensorAssert.Close(norm.Forward(sum).ToArray(), normed.ToArray(), 1e-6, 1e-6, "module normed");
    }

    [Fact]
    public void Bad_shapes_are_rejected_with_the_tensor_names()
    {
        var x = Tensor.Zeros(2, 4);
        x.Name = "hidden";
        var w = Tensor.Ones(3);
        w.Name = "norm.weight";
        var ex = Assert.Throws<ArgumentException>(() => Ops.RmsNorm(x, w));
        Assert.Contains("norm.weight", ex.Message);
        Assert.Contains("hidden", ex.Message);
        Assert.Throws<ArgumentException>(() => Ops.RmsNorm(Tensor.Scalar(1f), w));
        Assert.Throws<ArgumentException>(() => Ops.AddRmsNorm(Tensor.Zeros(2, 4), Tensor.Zeros(1, 4), Tensor.Ones(4)));
    }
}
