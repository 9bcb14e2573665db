using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>
/// The float polynomial eˣ of the attention softmax and the activations against double-precision
/// <see cref="Math.Exp(double)"/> (with AVX2 and FMA; without them, the fallback it leaves to), and its 16-float version
/// against the 8-float one (with AVX-512; without it, against the runtime's 16-float eˣ it then leaves to).
/// </summary>
public class ExpPolynomialTests
{
    [Fact]
    public void Stays_within_one_ulp_of_the_exact_value_over_its_range()
    {
        if (!ExpPolynomial.IsSupported)
        {
            TheEnginesExpIsTheRuntimesWithoutTheInstructions();
            return;
        }
        var random = new Random(5);
        int worst = 0;
        float worstX = 0;
        var inputs = new float[1 << 20];
        for (int i = 0; i < inputs.Length; i++)
            inputs[i] = i % 4 == 0 ? -87.33f + 175.3f * i / inputs.Length  // a grid over the whole range
                : i % 4 == 1 ? (float)(-20 * random.NextDouble())      // attention's usual inputs
                : (float)(-87.33 + 175.3 * random.NextDouble());
        for (int i = 0; i < inputs.Length; i += 8)
        {
            var y = ExpPolynomial.Exp(Vector256.Create(inputs, i));
            for (int lane = 0; lane < 8; lane++)
            {
                float x = inputs[i + lane], exact = (float)Math.Exp(x);
                int ulps = Math.Abs(BitConverter.SingleToInt32Bits(y[lane]) - BitConverter.SingleToInt32Bits(exact));
                if (ulps > worst) (worst, worstX) = (ulps, x);
            }
        }
        Assert.True(worst <= 1, $"e^{worstX} is {worst} ulp from the exact value");
    }

    [Fact]
    public void Underflows_to_zero_saturates_to_infinity_and_keeps_nan()
    {
        if (!ExpPolynomial.IsSupported)
        {
            TheEnginesExpIsTheRuntimesWithoutTheInstructions();
            return;
        }
        var x = Vector256.Create(0f, -88f, -1000f, float.NegativeInfinity, 88.5f, float.PositiveInfinity, float.NaN, 1f);
        var y = ExpPolynomial.Exp(x);
        Assert.Equal(1f, y[0]);
        Assert.Equal(0f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(0f, y[3]);
        Assert.Equal(float.PositiveInfinity, y[4]);
        Assert.Equal(float.PositiveInfinity, y[5]);
        Assert.True(float.IsNaN(y[6]));
        Assert.Equal((float)Math.E, y[7], 6);
    }

    // Without AVX2 and FMA (DOTNET_EnableAVX2=0) the polynomial cannot run: the engine's 8-float eˣ must then be the
    // runtime's, bit for bit, on the same inputs the tests above use.
    private static void TheEnginesExpIsTheRuntimesWithoutTheInstructions()
    {
        var x = Vector256.Create(0f, -88f, -20.5f, float.NegativeInfinity, 88.5f, 3.25f, float.NaN, 1f);
        var engine = VectorMath.Exp(x);
        var runtime = Vector256.Exp(x);
        for (int lane = 0; lane < 8; lane++)
            Assert.Equal(BitConverter.SingleToInt32Bits(runtime[lane]), BitConverter.SingleToInt32Bits(engine[lane]));
    }

    [Fact]
    public void The_sixteen_float_version_gives_the_bits_of_the_eight_float_one()
    {
        // The same operations lane by lane at 16 floats: on a million inputs over the whole range (and the special
        // values), each lane must be bit-identical to the 8-float polynomial's, so it inherits its 1-ulp bound and
        // the 8- and 16-float paths of softmax, SiLU and the rest agree. Without AVX-512 the engine's 16-float eˣ must
        // be the runtime's instead, bit for bit.
        var random = new Random(6);
        var inputs = new float[(1 << 20) + 16];
        for (int i = 0; i < inputs.Length - 16; i++)
            inputs[i] = i % 3 == 0 ? (float)(-20 * random.NextDouble()) : (float)(-87.33 + 175.3 * random.NextDouble());
        float[] special = [0f, -88f, -1000f, float.NegativeInfinity, 88.5f, float.PositiveInfinity, float.NaN, 1f,
            -87.3365478515625f, 88f, -0f, 1e-30f, -1e-30f, 87.99f, -87.33f, float.MaxValue];
        special.CopyTo(inputs, inputs.Length - 16);
        for (int i = 0; i < inputs.Length; i += 16)
        {
            var x = Vector512.Create(inputs, i);
            var engine = VectorMath.Exp(x);
            var expected = ExpPolynomial.IsSupported512 // AVX-512F comes with AVX2 and FMA on every CPU
                ? Vector512.Create(ExpPolynomial.Exp(Vector256.Create(inputs, i)), ExpPolynomial.Exp(Vector256.Create(inputs, i + 8)))
                : Vector512.Exp(x);
            for (int lane = 0; lane < 16; lane++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(expected[lane]) == BitConverter.SingleToInt32Bits(engine[lane]),
                    $"e^{inputs[i + lane]}: 16-float {engine[lane]}, expected {expected[lane]}");
            }
        }
    }
}
