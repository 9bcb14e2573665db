using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class PowerOpsTests
{
    private static Tensor PositiveInput(ulong seed)
    {
        var t = Tensor.Uniform([4, 5], 0.5f, 3f, new TensorRandom(seed));
        t.RequiresGrad = true;
        return t;
    }

    [Theory]
    [InlineData(2f)]
    [InlineData(3f)]
    [InlineData(0.5f)]
    [InlineData(-0.5f)]
    [InlineData(-1f)]
    [InlineData(-2f)]
    [InlineData(1.5f)]
    [InlineData(-0.3f)]
    [InlineData(1f)]
    [InlineData(0f)]
    public void Pow_passes_gradient_check(float exponent)
    {
        var x = PositiveInput(1);
        GradCheck.Assert(t => Ops.Pow(t[0], exponent), [x]);
    }

    [Fact]
    public void Named_powers_pass_gradient_checks_and_match_their_definitions()
    {
        var x = PositiveInput(2);
        GradCheck.Assert(t => Ops.Square(t[0]), [x]);
        GradCheck.Assert(t => Ops.Sqrt(t[0]), [x]);
        GradCheck.Assert(t => Ops.Rsqrt(t[0]), [x]);
        GradCheck.Assert(t => Ops.Reciprocal(t[0]), [x]);
        var v = Tensor.FromArray(new float[] { 4f, 9f, 0.25f });
        Assert.Equal([16f, 81f, 0.0625f], Ops.Square(v).ToArray());
        Assert.Equal([2f, 3f, 0.5f], Ops.Sqrt(v).ToArray());
        Assert.Equal([0.5f, 1f / 3f, 2f], Ops.Rsqrt(v).ToArray());
        Assert.Equal([0.25f, 1f / 9f, 4f], Ops.Reciprocal(v).ToArray());
        Assert.Equal([1f, 1f, 1f], Ops.Pow(v, 0f).ToArray());
        Assert.Equal([8f, 27f, 0.125f], Ops.Pow(v, 1.5f).ToArray());
    }

    [Fact]
    public void Square_of_negative_inputs_has_gradient_two_x()
    {
        var x = Tensor.FromArray(new float[] { -3f, 0f, 2f });
        x.RequiresGrad = true;
        Ops.Square(x).Backward(Tensor.Ones(3));
        Assert.Equal([-6f, 0f, 4f], x.Grad!.ToArray());
    }
}
