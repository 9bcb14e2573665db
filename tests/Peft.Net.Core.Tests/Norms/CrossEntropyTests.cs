using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

public class CrossEntropyTests
{
    private static Tensor Leaf(int[] shape, TensorRandom random, float std = 1f)
    {
        var t = Tensor.Normal(shape, 0, std, random);
        t.RequiresGrad = true;
        return t;
    }

    /// <summary>Mean NLL of log-softmax in double precision, ignored rows left out.</summary>
    private static double ReferenceLoss(float[] logits, int[] targets, int vocab, int ignoreIndex = -100)
    {
        double total = 0;
        int count = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            if (targets[r] == ignoreIndex) continue;
            double max = double.NegativeInfinity;
            for (int i = 0; i < vocab; i++) max = Math.Max(max, logits[r * vocab + i]);
            double sum = 0;
            for (int i = 0; i < vocab; i++) sum += Math.Exp(logits[r * vocab + i] - max);
            total += max + Math.Log(sum) - logits[r * vocab + targets[r]];
            count++;
        }
        return total / count;
    }

    [Fact]
    public void Gradient_matches_finite_differences_with_ignored_targets()
    {
        var random = new TensorRandom(41);
        var logits = Leaf([6, 9], random, 2f);
        int[] targets = [3, -100, 0, 8, -100, 5];
        GradCheck.Assert(t => Ops.CrossEntropy(t[0], targets), [logits]);
        var btv = Leaf([2, 3, 5], random, 2f);
        GradCheck.Assert(t => Ops.CrossEntropy(t[0], [4, 0, -1, 2, -1, 1], ignoreIndex: -1), [btv]);
    }

    [Fact]
    public void Loss_matches_a_double_precision_reference_and_the_gradient_rows_sum_to_zero()
    {
        var random = new TensorRandom(42);
        var logits = Leaf([5, 1000], random, 3f);
        int[] targets = [999, 0, -100, 512, 7];
        var loss = Ops.CrossEntropy(logits, targets);
        double expected = ReferenceLoss(logits.ToArray(), targets, 1000);
        Assert.True(Math.Abs(loss.Item() - expected) < 1e-5 * expected, $"loss {loss.Item()} vs {expected}");
        loss.Backward();
        var grad = logits.Grad!.ToArray();
        for (int r = 0; r < 5; r++)
        {
            double rowSum = grad.AsSpan(r * 1000, 1000).ToArray().Sum(v => (double)v);
            Assert.True(Math.Abs(rowSum) < 1e-6, $"row {r} gradient sums to {rowSum}");
        }
        Assert.All(grad.AsSpan(2000, 1000).ToArray(), v => Assert.Equal(0f, v));
        Assert.True(grad[999] < 0 && grad[1000] < 0, "the target logit's gradient is negative");
    }

    [Fact]
    public void Huge_logits_stay_finite_and_exact()
    {
        var random = new TensorRandom(43);
        var logits = Leaf([4, 257], random, 1e4f);
        var data = logits.AsSpan();
        data[5] = 1e4f;
        data[257 + 3] = -1e4f;
        int[] targets = [5, 3, 100, 256];
        var loss = Ops.CrossEntropy(logits, targets);
        double expected = ReferenceLoss(logits.ToArray(), targets, 257);
        Assert.True(float.IsFinite(loss.Item()), $"loss {loss.Item()}");
        Assert.True(Math.Abs(loss.Item() - expected) <= 1e-6 * Math.Abs(expected) + 1e-3, $"loss {loss.Item()} vs {expected}");
        loss.Backward();
        Assert.All(logits.Grad!.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void All_ignored_targets_give_zero_loss_and_zero_gradient()
    {
        var logits = Leaf([3, 4], new TensorRandom(44));
        var loss = Ops.CrossEntropy(logits, [-100, -100, -100]);
        Assert.Equal(0f, loss.Item());
        loss.Backward();
        Assert.All(logits.Grad!.ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Bad_targets_are_named_in_the_error()
    {
        var logits = Tensor.Zeros(2, 5);
        logits.Name = "lm_logits";
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CrossEntropy(logits, [1, 5]));
        Assert.Contains("target 5 at row 1", ex.Message);
        Assert.Contains("lm_logits", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.CrossEntropy(logits, [-1, 0]));
        Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(logits, [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => Ops.CrossEntropy(Tensor.Zeros(5), [1]));
    }
}
