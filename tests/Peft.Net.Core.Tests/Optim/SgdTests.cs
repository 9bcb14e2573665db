using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

public class SgdTests
{
    [Fact]
    public void Trajectory_matches_pytorch_with_momentum_nesterov_clipping_and_cosine_schedule()
    {
        // tests/fixtures/make_optim.py sgd_case: group 0 (w, b) momentum 0.9, dampening 0.1, wd 0.01; group 1 (v)
        // Nesterov momentum 0.8, lr 0.2; group 2 (u) no momentum, wd 0.05; base lr 0.1; clip_grad_norm_(4.0) each step.
        var fixture = Fixture.Load("optim", "sgd_clip_cosine");
        var problem = QuadraticProblem.FromFixture(fixture);
        var optimizer = new Sgd([
            new SgdGroup([problem["w"], problem["b"]], learningRate: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01),
            new SgdGroup([problem["v"]], learningRate: 0.2, momentum: 0.8, nesterov: true),
            new SgdGroup([problem["u"]], learningRate: 0.1, weightDecay: 0.05),
        ]);
        var scheduler = new LrScheduler(optimizer, LrSchedule.CosineWithWarmup(2, 10));
        double maxNorm = fixture.Meta.GetProperty("clip").GetDouble();
        var norms = fixture.Meta.GetProperty("norms").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var lrs = fixture.Meta.GetProperty("lrs").EnumerateArray().ToArray();
        var all = problem.Names.Select(n => problem[n]).ToArray();
        for (int k = 1; k <= norms.Length; k++)
        {
            problem.SetGradients();
            double norm = GradientClipping.ClipByGlobalNorm(all, maxNorm);
            // PyTorch reduces the norm in float32, we in double: they agree to float precision.
            Assert.Equal(norms[k - 1], norm, norms[k - 1] * 1e-6);
            Assert.Equal(lrs[k - 1].EnumerateArray().Select(e => e.GetDouble()), scheduler.LearningRates);
            optimizer.Step();
            scheduler.Step();
            foreach (var name in problem.Names)
                TensorAssert.Close(fixture.Data($"step{k}.{name}"), problem[name].AsSpan(), atol: 1e-7, rtol: 1e-6, what: $"step {k} '{name}'");
        }
    }

    [Fact]
    public void Simd_kernel_matches_scalar_reference_bitwise_in_every_mode_on_every_simd_length()
    {
        var random = new TensorRandom(5);
        foreach (var mode in Enum.GetValues<SgdMomentumMode>())
        foreach (bool nesterov in new[] { false, true })
        foreach (double weightDecay in new[] { 0.0, 0.01 })
        foreach (int n in TensorAssert.SimdLengths)
        {
            if (nesterov && mode == SgdMomentumMode.None) continue;
            var c = SgdCoefficients.For(learningRate: 0.05, weightDecay, momentum: 0.9, dampening: nesterov ? 0 : 0.2, nesterov, mode);
            var p = Tensor.Normal([n], 0, 1, random).ToArray();
            var g = Tensor.Normal([n], 0, 1, random).ToArray();
            var b = mode == SgdMomentumMode.None ? [] : Tensor.Normal([n], 0, 1, random).ToArray();
            var (p2, b2) = ((float[])p.Clone(), (float[])b.Clone());
            SgdKernel.Update(p, g, b, c);
            SgdKernel.UpdateReference(p2, g, b2, c);
            string what = $"{mode} nesterov={nesterov} wd={weightDecay} n={n}";
            TensorAssert.BitEqual(p2, p, "parameter " + what);
            TensorAssert.BitEqual(b2, b, "momentum buffer " + what);
        }
    }

    [Fact]
    public void Plain_sgd_subtracts_lr_times_gradient_and_momentum_starts_from_the_gradient()
    {
        var plain = TestTensors.Vector(1f, -2f);
        plain.RequiresGrad = true;
        var sgd = new Sgd([plain], learningRate: 0.5);
        plain.Grad = TestTensors.Vector(2f, 4f);
        sgd.Step();
        Assert.Equal([0f, -4f], plain.ToArray());
        Assert.Null(sgd.StateDict().Groups[0].Parameters[0]);

        var heavy = TestTensors.Vector(0f);
        heavy.RequiresGrad = true;
        var momentum = new Sgd([heavy], learningRate: 1, momentum: 0.5);
        heavy.Grad = TestTensors.Vector(1f);
        momentum.Step(); // b = 1, p = −1
        momentum.Step(); // b = 0.5 + 1 = 1.5, p = −2.5
        Assert.Equal(-2.5f, heavy.ToArray()[0]);
        Assert.Equal([1.5f], momentum.StateDict().Groups[0].Parameters[0]!.Buffers[0]);
    }

    [Fact]
    public void Nesterov_needs_momentum_and_no_dampening()
    {
        var p = Tensor.Ones(2);
        p.RequiresGrad = true;
        Assert.Throws<InvalidOperationException>(() => new Sgd([p], learningRate: 0.1, nesterov: true));
        Assert.Throws<InvalidOperationException>(() => new Sgd([p], learningRate: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        var sgd = new Sgd([p], learningRate: 0.1, momentum: 0.9, nesterov: true);
        sgd.Groups[0].Momentum = 0;
        p.Grad = Tensor.Ones(2);
        Assert.Contains("Nesterov", Assert.Throws<InvalidOperationException>(sgd.Step).Message);
    }
}
