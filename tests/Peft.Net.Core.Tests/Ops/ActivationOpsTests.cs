using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class ActivationOpsTests
{
    private static Tensor Input(int[] shape, ulong seed, float std = 2f)
    {
        var t = Tensor.Normal(shape, 0, std, new TensorRandom(seed));
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void Activations_pass_gradient_checks()
    {
        var x = Input([3, 17], 1);
        GradCheck.Assert(t => Ops.Silu(t[0]), [x]);
        GradCheck.Assert(t => Ops.Gelu(t[0]), [x]);
        GradCheck.Assert(t => Ops.Gelu(t[0], GeluApproximation.Tanh), [x]);
        GradCheck.Assert(t => Ops.Sigmoid(t[0]), [x]);
        GradCheck.Assert(t => Ops.Tanh(t[0]), [x]);
        GradCheck.Assert(t => Ops.Exp(t[0]), [x]);
    }

    [Fact]
    public void Relu_and_log_pass_gradient_checks_away_from_their_kinks()
    {
        var x = Input([4, 9], 2);
        var s = x.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] += s[i] >= 0 ? 0.1f : -0.1f; // no element within eps of 0
        GradCheck.Assert(t => Ops.Relu(t[0]), [x]);
        var positive = Tensor.Uniform([4, 9], 0.2f, 5f, new TensorRandom(3));
        positive.RequiresGrad = true;
        GradCheck.Assert(t => Ops.Log(t[0]), [positive]);
    }

    [Fact]
    public void SiluMul_passes_gradient_checks_and_equals_silu_times_up()
    {
        var gate = Input([2, 3, 11], 4);
        var up = Input([2, 3, 11], 5, 1f);
        GradCheck.Assert(t => Ops.SiluMul(t[0], t[1]), [gate, up]);
        var frozenUp = up.Detach();
        GradCheck.Assert(t => Ops.SiluMul(t[0], frozenUp), [gate]);
        var frozenGate = gate.Detach();
        GradCheck.Assert(t => Ops.SiluMul(frozenGate, t[0]), [up]);
        using (Tensor.NoGrad())
        {
            var fused = Ops.SiluMul(gate, up).ToArray();
            var twoStep = Ops.Mul(Ops.Silu(gate), up).ToArray();
            TensorAssert.Close(twoStep, fused, atol: 1e-6, rtol: 1e-6, what: "SiluMul vs Silu·up");
        }
        Assert.Throws<ArgumentException>(() => Ops.SiluMul(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
    }

    [Fact]
    public void Activations_give_known_values()
    {
        var x = Tensor.FromArray(new float[] { -1f, 0f, 2f });
        TensorAssert.Close([-0.26894142f, 0f, 1.7615942f], Ops.Silu(x).ToArray(), what: "silu");
        TensorAssert.Close([-0.15865525f, 0f, 1.9544997f], Ops.Gelu(x).ToArray(), what: "gelu");
        TensorAssert.Close([-0.15880801f, 0f, 1.9545977f], Ops.Gelu(x, GeluApproximation.Tanh).ToArray(), what: "gelu tanh");
        TensorAssert.Close([0.26894142f, 0.5f, 0.8807971f], Ops.Sigmoid(x).ToArray(), what: "sigmoid");
        TensorAssert.Close([-0.7615942f, 0f, 0.9640276f], Ops.Tanh(x).ToArray(), what: "tanh");
        Assert.Equal([0f, 0f, 2f], Ops.Relu(x).ToArray());
        TensorAssert.Close([0.36787944f, 1f, 7.389056f], Ops.Exp(x).ToArray(), what: "exp");
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Gelu(x, (GeluApproximation)7));
    }

    [Fact]
    public void Silu_and_gelu_saturate_cleanly_at_large_magnitudes()
    {
        var x = Tensor.FromArray(new float[] { -1e4f, -200f, 200f, 1e4f });
        x.RequiresGrad = true;
        foreach (var f in new Func<Tensor, Tensor>[] { Ops.Silu, t => Ops.Gelu(t), t => Ops.Gelu(t, GeluApproximation.Tanh) })
        {
            x.Grad = null;
            var y = f(x);
            Assert.Equal([0f, 0f, 200f, 1e4f], y.ToArray().Select(v => v == 0f ? 0f : v).ToArray());
            y.Backward(Tensor.Ones(4));
            Assert.Equal([0f, 0f, 1f, 1f], x.Grad!.ToArray().Select(v => v == 0f ? 0f : v).ToArray());
        }
    }

    [Theory]
    [InlineData("silu")]
    [InlineData("gelu_none")]
    [InlineData("gelu_tanh")]
    public void Activation_and_gradient_match_pytorch(string name)
    {
        var fixture = Fixture.Load("activations", name);
        var x = fixture.Tensor("x");
        x.RequiresGrad = true;
        var y = name switch
        {
            "silu" => Ops.Silu(x),
            "gelu_tanh" => Ops.Gelu(x, GeluApproximation.Tanh),
            _ => Ops.Gelu(x),
        };
        TensorAssert.CloseToScale(fixture.Data("y"), y.ToArray(), 1e-4, $"{name} forward");
        y.Backward(fixture.Tensor("grad_output"));
        TensorAssert.CloseToScale(fixture.Data("x_grad"), x.Grad!.ToArray(), 1e-4, $"{name} x.grad");
    }
}
