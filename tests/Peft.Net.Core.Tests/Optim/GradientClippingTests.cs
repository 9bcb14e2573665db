using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Optim;

public class GradientClippingTests
{
    [Theory]
    [InlineData("small")]
    [InlineData("large")]
    public void Matches_pytorch_clip_grad_norm(string label)
    {
        var fixture = Fixture.Load("optim", "clip_grad_norm");
        var names = new[] { "a", "b", "c" };
        var parameters = names.Select(n => WithGradient(fixture.Tensor("grad." + n))).ToArray();
        double norm = GradientClipping.ClipByGlobalNorm(parameters, fixture.Meta.GetProperty("max_norm_" + label).GetDouble());
        double expectedNorm = fixture.Meta.GetProperty("norm_" + label).GetDouble();
        Assert.Equal(expectedNorm, norm, expectedNorm * 1e-6);
        for (int i = 0; i < names.Length; i++)
            TensorAssert.Close(fixture.Data($"clipped_{label}.{names[i]}"), parameters[i].Grad!.AsSpan(), atol: 1e-7, rtol: 1e-6, what: names[i]);
    }

    [Fact]
    public void Clipped_gradients_have_the_maximal_norm_and_small_ones_are_untouched()
    {
        var a = WithGradient(TestTensors.Vector(3f, 0f));
        var b = WithGradient(TestTensors.Vector(4f));
        Assert.Equal(5.0, GradientClipping.ClipByGlobalNorm([a, b], 1.0));
        Assert.Equal(0.6f, a.Grad!.ToArray()[0], 5);
        Assert.Equal(0.8f, b.Grad!.ToArray()[0], 5);

        var c = WithGradient(TestTensors.Vector(0.3f, 0.4f));
        Assert.Equal(0.5, GradientClipping.ClipByGlobalNorm([c], 1.0), 6);
        Assert.Equal([0.3f, 0.4f], c.Grad!.ToArray());
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Non_finite_norm_is_returned_and_nothing_is_scaled(float bad)
    {
        var a = WithGradient(TestTensors.Vector(30f, bad));
        var b = WithGradient(TestTensors.Vector(40f));
        double norm = GradientClipping.ClipByGlobalNorm([a, b], 1.0);
        Assert.False(double.IsFinite(norm));
        Assert.Equal(float.IsNaN(bad), double.IsNaN(norm));
        Assert.Equal(30f, a.Grad!.ToArray()[0]);
        Assert.Equal([40f], b.Grad!.ToArray());
    }

    [Fact]
    public void Parameters_without_gradients_are_ignored()
    {
        var none = Tensor.Ones(3);
        Assert.Equal(0.0, GradientClipping.ClipByGlobalNorm([none], 1.0));
        var a = WithGradient(TestTensors.Vector(6f, 8f));
        Assert.Equal(10.0, GradientClipping.ClipByGlobalNorm([none, a, a], 20.0));
        Assert.Null(none.Grad);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([a], -1));
    }

    [Fact]
    public void Sum_of_squares_kernel_matches_reference_on_every_simd_length()
    {
        var random = new TensorRandom(3);
        foreach (int n in TensorAssert.SimdLengths)
        {
            var x = Tensor.Normal([n], 0, 10, random).ToArray();
            double expected = SumOfSquaresKernel.SumOfSquaresReference(x);
            double actual = SumOfSquaresKernel.SumOfSquares(x);
            Assert.True(Math.Abs(expected - actual) <= 1e-12 * expected, $"n={n}: {actual:R} vs reference {expected:R}");
        }
    }

    private static Tensor WithGradient(Tensor gradient)
    {
        var p = Tensor.Zeros(gradient.ShapeArray());
        p.RequiresGrad = true;
        p.Grad = gradient;
        return p;
    }
}
