using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// GELU, exact and tanh-approximated, with gradients.
/// Exact: y = x·Φ(x), y' = Φ(x) + x·φ(x) (Φ, φ from <see cref="VectorMath"/>, relative error ≲ 5e-7).
/// Tanh: PyTorch's 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³), evaluated as the identical x·σ(2u) so one
/// exponential suffices and nothing cancels; y' = σ(2u) + 2x·σ(2u)(1 − σ(2u))·u'.
/// </summary>
internal static class GeluKernels
{
    private const float Beta = 0.7978845608028654f; // √(2/π)
    private const float Kappa = 0.044715f;

    // x, y: (N)
    /// <summary>y = GELU(x).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, GeluApproximation approximation)
    {
        if (approximation == GeluApproximation.Tanh) SimdLoop.Map(default(TanhGeluOperator), x, y);
        else SimdLoop.Map(default(ExactGeluOperator), x, y);
    }

    // g, x, dx: (N)
    /// <summary>dx += g · GELU'(x).</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx, GeluApproximation approximation)
    {
        if (approximation == GeluApproximation.Tanh) SimdLoop.Accumulate(default(TanhGeluGradient), g, x, dx);
        else SimdLoop.Accumulate(default(ExactGeluGradient), g, x, dx);
    }

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision, PyTorch's formulas).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y, GeluApproximation approximation)
    {
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = approximation == GeluApproximation.Tanh
                ? (float)(0.5 * v * (1 + Math.Tanh(BetaDouble * (v + KappaDouble * v * v * v))))
                : (float)(v * ReferenceMath.NormalCdf(v));
        }
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision, PyTorch's formulas).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx, GeluApproximation approximation)
    {
        for (int i = 0; i < g.Length; i++)
        {
            double v = x[i], derivative;
            if (approximation == GeluApproximation.Tanh)
            {
                double tanh = Math.Tanh(BetaDouble * (v + KappaDouble * v * v * v));
                derivative = 0.5 * (1 + tanh) + 0.5 * v * (1 - tanh * tanh) * BetaDouble * (1 + 3 * KappaDouble * v * v);
            }
            else
            {
                derivative = ReferenceMath.NormalCdf(v) + v * ReferenceMath.NormalDensity(v);
            }
            dx[i] += (float)(g[i] * derivative);
        }
    }

    private const double BetaDouble = 0.7978845608028654;
    private const double KappaDouble = 0.044715;

    private readonly struct ExactGeluOperator : IUnaryOperator
    {
        public float Invoke(float x) => x * VectorMath.NormalCdf(x);
        public Vector128<float> Invoke(Vector128<float> x) => x * VectorMath.NormalCdf(x);
        public Vector256<float> Invoke(Vector256<float> x) => x * VectorMath.NormalCdf(x);
        public Vector512<float> Invoke(Vector512<float> x) => x * VectorMath.NormalCdf(x);
    }

    private readonly struct ExactGeluGradient : IBinaryOperator // (g, x)
    {
        public float Invoke(float g, float x)
        {
            float cdf = VectorMath.NormalCdfAndDensity(x, out float density);
            return g * (cdf + x * density);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
        {
            var cdf = VectorMath.NormalCdfAndDensity(x, out var density);
            return g * (cdf + x * density);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
        {
            var cdf = VectorMath.NormalCdfAndDensity(x, out var density);
            return g * (cdf + x * density);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
        {
            var cdf = VectorMath.NormalCdfAndDensity(x, out var density);
            return g * (cdf + x * density);
        }
    }

    // e = exp(−2u): GELU = x/(1 + e); the derivative reuses e for σ(2u) and σ(2u)(1 − σ(2u)).
    private readonly struct TanhGeluOperator : IUnaryOperator
    {
        public float Invoke(float x) => x / (1f + MathF.Exp(-2f * Beta * (x + Kappa * (x * x * x))));

        public Vector128<float> Invoke(Vector128<float> x) =>
            x / (Vector128<float>.One + Vector128.Exp(Vector128.Create(-2f * Beta) * (x + Vector128.Create(Kappa) * (x * x * x))));

        public Vector256<float> Invoke(Vector256<float> x) =>
            x / (Vector256<float>.One + VectorMath.Exp(Vector256.Create(-2f * Beta) * (x + Vector256.Create(Kappa) * (x * x * x))));

        public Vector512<float> Invoke(Vector512<float> x) =>
            x / (Vector512<float>.One + VectorMath.Exp(Vector512.Create(-2f * Beta) * (x + Vector512.Create(Kappa) * (x * x * x))));
    }

    private readonly struct TanhGeluGradient : IBinaryOperator // (g, x)
    {
        public float Invoke(float g, float x)
        {
            float x2 = x * x;
            float e = MathF.Exp(-2f * Beta * (x + Kappa * (x2 * x)));
            float slope = 2f * Beta * (1f + 3f * Kappa * x2); // d(2u)/dx
            return g * (1f / (1f + e) + x * VectorMath.SigmoidSlope(e) * slope);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => Invoke<FloatVector128>(g, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => Invoke<FloatVector256>(g, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => Invoke<FloatVector512>(g, x);

        // g, x: one register → g·GELU'(x), the float formula above at every width
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TVector Invoke<TVector>(TVector g, TVector x) where TVector : struct, IFloatVector<TVector>
        {
            var one = TVector.Create(1f);
            var x2 = x * x;
            var e = TVector.Exp(TVector.Create(-2f * Beta) * (x + TVector.Create(Kappa) * (x2 * x)));
            var slope = TVector.Create(2f * Beta) * (one + TVector.Create(3f * Kappa) * x2);
            return g * (one / (one + e) + x * VectorMath.SigmoidSlope(e) * slope);
        }
    }
}
