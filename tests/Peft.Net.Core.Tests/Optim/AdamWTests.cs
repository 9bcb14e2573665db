using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

public class AdamWTests
{
    [Fact]
    public void Trajectory_matches_pytorch_with_two_groups_linear_warmup_and_skipped_gradients()
    {
        // tests/fixtures/make_optim.py adamw_case: group "decay" (lr 1e-2, wd 0.1) holds w, b; group "no_decay"
        // (lr 3e-2, wd 0, betas (0.8, 0.99), eps 1e-6) holds v and s; s has no gradient on odd steps.
        var fixture = Fixture.Load("optim", "adamw_linear_warmup");
        var problem = QuadraticProblem.FromFixture(fixture);
        var optimizer = new AdamW([
            new AdamWGroup([problem["w"], problem["b"]], learningRate: 1e-2, weightDecay: 0.1, name: "decay"),
            new AdamWGroup([problem["v"], problem["s"]], learningRate: 3e-2, weightDecay: 0, beta1: 0.8, beta2: 0.99, epsilon: 1e-6, name: "no_decay"),
        ]);
        var scheduler = new LrScheduler(optimizer, LrSchedule.LinearWithWarmup(3, 10));
        var lrs = fixture.Meta.GetProperty("lrs").EnumerateArray().ToArray();
        int steps = fixture.Meta.GetProperty("steps").GetInt32();
        long worstUlps = 0;
        for (int k = 1; k <= steps; k++)
        {
            problem.SetGradients(k % 2 == 1 ? ["s"] : []);
            var expectedLrs = lrs[k - 1].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.Equal(expectedLrs, scheduler.LearningRates);
            optimizer.Step();
            scheduler.Step();
            foreach (var name in problem.Names)
            {
                var expected = fixture.Data($"step{k}.{name}");
                var actual = problem[name].AsSpan();
                TensorAssert.Close(expected, actual, atol: 1e-7, rtol: 1e-6, what: $"step {k} '{name}'");
                for (int i = 0; i < expected.Length; i++) worstUlps = Math.Max(worstUlps, Ulp.Distance(expected[i], actual[i]));
            }
        }
        // The kernel reproduces PyTorch's float32 operation order (fused multiply-adds included): bit-exact in
        // practice; a couple of ulps leave room for a platform whose Math.Pow rounds differently.
        Assert.True(worstUlps <= 2, $"AdamW drifted {worstUlps} ulps from PyTorch.");
    }

    [Fact]
    public void Simd_kernel_matches_scalar_reference_bitwise_on_every_simd_length()
    {
        var random = new TensorRandom(11);
        foreach (long step in new long[] { 1, 2, 7 })
        foreach (int n in TensorAssert.SimdLengths)
        {
            var c = AdamWCoefficients.For(learningRate: 3e-3, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step);
            var p = Tensor.Normal([n], 0, 1, random).ToArray();
            var g = Tensor.Normal([n], 0, 2, random).ToArray();
            var m = Tensor.Normal([n], 0, 0.1f, random).ToArray();
            var v = Tensor.Uniform([n], 0, 0.5f, random).ToArray();
            var (p2, m2, v2) = ((float[])p.Clone(), (float[])m.Clone(), (float[])v.Clone());
            AdamWKernel.Update(p, g, m, v, c);
            AdamWKernel.UpdateReference(p2, g, m2, v2, c);
            TensorAssert.BitEqual(p2, p, $"parameter n={n} step={step}");
            TensorAssert.BitEqual(m2, m, $"exp_avg n={n} step={step}");
            TensorAssert.BitEqual(v2, v, $"exp_avg_sq n={n} step={step}");
        }
    }

    [Fact]
    public void Reference_kernel_follows_the_adamw_formula()
    {
        // One element, first step, worked out in double: bias corrections make the first update ≈ lr·sign(g).
        var c = AdamWCoefficients.For(learningRate: 0.1, weightDecay: 0.5, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, step: 1);
        float[] p = [2f], g = [4f], m = [0f], v = [0f];
        AdamWKernel.UpdateReference(p, g, m, v, c);
        Assert.Equal(0.4f, m[0], 6);
        Assert.Equal(0.016f, v[0], 6);
        double expected = 2 * (1 - 0.1 * 0.5) - 0.1 / (1 - 0.9) * 0.4 / (Math.Sqrt(0.016) / Math.Sqrt(1 - 0.999) + 1e-8);
        Assert.Equal(expected, p[0], 5);
    }

    [Fact]
    public void Defaults_are_pytorchs()
    {
        var optimizer = new AdamW([Trainable(3)]);
        var group = Assert.Single(optimizer.Groups);
        Assert.Equal((1e-3, 0.9, 0.999, 1e-8, 0.01), (group.LearningRate, group.Beta1, group.Beta2, group.Epsilon, group.WeightDecay));
        Assert.Equal("group0", group.Name);
    }

    [Fact]
    public void Parameters_without_gradients_are_skipped_and_keep_their_step_count()
    {
        var a = Trainable(4);
        var b = Trainable(4);
        var bBefore = b.ToArray();
        var optimizer = new AdamW([a, b], learningRate: 0.1);
        a.Grad = Tensor.Ones(4);
        optimizer.Step();
        optimizer.Step();
        TensorAssert.BitEqual(bBefore, b.AsSpan(), "parameter without gradient");
        var state = optimizer.StateDict().Groups[0].Parameters;
        Assert.Equal(2, state[0]!.Step);
        Assert.Null(state[1]);
    }

    [Fact]
    public void Zero_grad_clears_or_zero_fills()
    {
        var a = Trainable(3);
        var optimizer = new AdamW([a]);
        a.Grad = Tensor.Ones(3);
        var grad = a.Grad;
        optimizer.ZeroGrad(setToNone: false);
        Assert.Same(grad, a.Grad);
        Assert.Equal(new float[3], a.Grad!.ToArray());
        optimizer.ZeroGrad();
        Assert.Null(a.Grad);
    }

    [Fact]
    public void Invalid_parameters_and_hyper_parameters_are_rejected_with_clear_messages()
    {
        var a = Trainable(3);
        var twice = Assert.Throws<ArgumentException>(() => new AdamW([new AdamWGroup([a], name: "x"), new AdamWGroup([a], name: "y")]));
        Assert.Contains("already in group 'x'", twice.Message);
        Assert.Throws<ArgumentException>(() => new AdamW(Array.Empty<Tensor>()));
        Assert.Contains("BF16", Assert.Throws<ArgumentException>(() => new AdamW([Tensor.Ones(2).To(DType.BF16)])).Message);
        Assert.Contains("not a leaf", Assert.Throws<ArgumentException>(() => new AdamW([a + a])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], learningRate: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([a], epsilon: double.NaN));

        var optimizer = new AdamW([a]);
        a.Grad = Tensor.Ones(4);
        var error = Assert.Throws<InvalidOperationException>(optimizer.Step);
        Assert.Contains("gradient", error.Message);
    }

    private static Tensor Trainable(int n)
    {
        var t = Tensor.Arange(n);
        t.RequiresGrad = true;
        return t;
    }
}
