using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// SiLU (swish): y = x·σ(x) = x/(1 + e^(−x)). Gradient g·(σ + x·σ(1−σ)), with σ(1−σ) = 1/(2 + e + 1/e),
/// e = e^(−x), which neither cancels for large x nor turns into NaN when e over- or underflows.
/// </summary>
internal static class SiluKernels
{
    // x, y: (N)
    /// <summary>y = x·σ(x).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => SimdLoop.Map(default(SiluOperator), x, y);

    // g, x, dx: (N)
    /// <summary>dx += g · (σ(x) + x·σ(x)(1 − σ(x))).</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx) =>
        SimdLoop.Accumulate(default(SiluGradient), g, x, dx);

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)(x[i] * ReferenceMath.Sigmoid(x[i]));
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += (float)(g[i] * Derivative(x[i]));
    }

    /// <summary>d/dx x·σ(x) in double precision (shared with the fused SiLU·up reference).</summary>
    internal static double Derivative(double x)
    {
        double s = ReferenceMath.Sigmoid(x);
        return s * (1 + x * (1 - s));
    }

    private readonly struct SiluOperator : IUnaryOperator
    {
        public float Invoke(float x) => x / (1f + MathF.Exp(-x));
        public Vector128<float> Invoke(Vector128<float> x) => x / (Vector128<float>.One + Vector128.Exp(-x));
        public Vector256<float> Invoke(Vector256<float> x) => x / (Vector256<float>.One + VectorMath.Exp(-x));
        public Vector512<float> Invoke(Vector512<float> x) => x / (Vector512<float>.One + VectorMath.Exp(-x));
    }

    private readonly struct SiluGradient : IBinaryOperator // (g, x)
    {
        public float Invoke(float g, float x)
        {
            float e = MathF.Exp(-x);
            return g * (1f / (1f + e) + x * VectorMath.SigmoidSlope(e));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
        {
            var e = Vector128.Exp(-x);
            return g * (Vector128<float>.One / (Vector128<float>.One + e) + x * VectorMath.SigmoidSlope(e));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
        {
            var e = VectorMath.Exp(-x);
            return g * (Vector256<float>.One / (Vector256<float>.One + e) + x * VectorMath.SigmoidSlope(e));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
        {
            var e = VectorMath.Exp(-x);
            return g * (Vector512<float>.One / (Vector512<float>.One + e) + x * VectorMath.SigmoidSlope(e));
        }
    }
}
