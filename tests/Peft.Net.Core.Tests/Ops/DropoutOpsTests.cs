using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class DropoutOpsTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.3f)]
    [InlineData(0.7f)]
    public void Training_dropout_keeps_the_mean_and_drops_about_p(float p)
    {
        const int n = 100_000;
        var x = Tensor.Ones(n);
        var y = Ops.Dropout(x, p, training: true, new TensorRandom(11)).ToArray();
        int dropped = y.Count(v => v == 0f);
        double sigma = Math.Sqrt(n * p * (1 - p));
        Assert.InRange(dropped, n * p - 5 * sigma, n * p + 5 * sigma);
        Assert.All(y, v => Assert.True(v == 0f || Math.Abs(v - 1 / (1 - p)) < 1e-6, $"value {v}"));
        double mean = y.Average(v => (double)v);
        Assert.InRange(mean, 1 - 5 * Math.Sqrt(p / (1 - p) / n), 1 + 5 * Math.Sqrt(p / (1 - p) / n));
    }

    [Fact]
    public void Gradient_flows_through_the_same_mask_and_passes_gradient_check()
    {
        var x = Tensor.Normal([4, 50], 0, 1, new TensorRandom(12));
        x.RequiresGrad = true;
        var y = Ops.Dropout(x, 0.4f, training: true, new TensorRandom(13));
        y.Backward(Tensor.Ones(4, 50));
        var xs = x.ToArray();
        var ys = y.ToArray();
        var grad = x.Grad!.ToArray();
        for (int i = 0; i < xs.Length; i++)
        {
            float expected = ys[i] == 0f ? 0f : 1f / 0.6f;
            Assert.Equal(expected, grad[i], 6);
            if (ys[i] != 0f) Assert.Equal(xs[i] / 0.6f, ys[i], 5);
        }
        // A fresh generator with the same seed each call makes the op deterministic for finite differences.
        GradCheck.Assert(t => Ops.Dropout(t[0], 0.4f, training: true, new TensorRandom(14)), [x]);
    }

    [Fact]
    public void Eval_and_p_zero_are_the_identity_and_p_one_gives_zeros()
    {
        var x = Tensor.Normal([3, 5], 0, 1, new TensorRandom(15));
        x.RequiresGrad = true;
        Assert.Same(x, Ops.Dropout(x, 0.5f, training: false, new TensorRandom(1)));
        Assert.Same(x, Ops.Dropout(x, 0f, training: true, new TensorRandom(1)));
        var zeros = Ops.Dropout(x, 1f, training: true, new TensorRandom(1));
        Assert.All(zeros.ToArray(), v => Assert.Equal(0f, v));
        zeros.Backward(Tensor.Ones(3, 5));
        Assert.All(x.Grad!.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Same_seed_same_mask_and_bad_p_is_rejected()
    {
        var x = Tensor.Ones(257);
        var a = Ops.Dropout(x, 0.5f, true, new TensorRandom(16)).ToArray();
        var b = Ops.Dropout(x, 0.5f, true, new TensorRandom(16)).ToArray();
        Assert.Equal(a, b);
        var random = new TensorRandom(16);
        var first = Ops.Dropout(x, 0.5f, true, random).ToArray();
        var second = Ops.Dropout(x, 0.5f, true, random).ToArray();
        Assert.NotEqual(first, second); // the generator advances between calls
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, 1.5f, true, random));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Dropout(x, -0.1f, true, random));
    }
}
