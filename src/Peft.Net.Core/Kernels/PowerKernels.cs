using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// y = xᵉ for a scalar exponent, with PyTorch's exact shortcuts: e = 2 → x·x, 3 → x·x·x, ½ → √x, −½ → 1/√x,
/// −1 → 1/x, −2 → 1/(x·x), 1 → x, 0 → 1; any other exponent uses <see cref="MathF.Pow"/> element by element
/// (the general power has no exact vector form). Gradient: ∂y/∂x = e·x^(e−1) (0 when e = 0).
/// </summary>
internal static class PowerKernels
{
    // x, y: (N)
    /// <summary>y = xᵉ.</summary>
    public static void Forward(ReadOnlySpan<float> x, float exponent, Span<float> y)
    {
        switch (exponent)
        {
            case 0f: CheckLength(x, y); y.Fill(1f); break;
            case 1f: CheckLength(x, y); x.CopyTo(y); break;
            case 2f: SimdLoop.Map(default(SquareOperator), x, y); break;
            case 3f: SimdLoop.Map(default(CubeOperator), x, y); break;
            case 0.5f: SimdLoop.Map(default(SqrtOperator), x, y); break;
            case -0.5f: SimdLoop.Map(default(RsqrtOperator), x, y); break;
            case -1f: SimdLoop.Map(default(ReciprocalOperator), x, y); break;
            case -2f: SimdLoop.Map(default(InverseSquareOperator), x, y); break;
            default:
                CheckLength(x, y);
                for (int i = 0; i < x.Length; i++) y[i] = MathF.Pow(x[i], exponent);
                break;
        }
    }

    // g, x, dx: (N)
    /// <summary>dx += g · e · x^(e−1).</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float exponent, Span<float> dx)
    {
        switch (exponent)
        {
            case 0f: CheckLength(x, dx); break;
            case 1f: SimdLoop.Accumulate(default(CopyGradient), g, x, dx); break;
            case 2f: SimdLoop.Accumulate(default(SquareGradient), g, x, dx); break;
            case 0.5f: SimdLoop.Accumulate(default(SqrtGradient), g, x, dx); break;
            case -0.5f: SimdLoop.Accumulate(default(RsqrtGradient), g, x, dx); break;
            case -1f: SimdLoop.Accumulate(default(ReciprocalGradient), g, x, dx); break;
            default:
                CheckLength(x, dx);
                CheckLength(g, dx);
                float lower = exponent - 1f;
                for (int i = 0; i < x.Length; i++) dx[i] += g[i] * (exponent * MathF.Pow(x[i], lower));
                break;
        }
    }

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, float exponent, Span<float> y)
    {
        CheckLength(x, y);
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Pow(x[i], exponent);
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> x, float exponent, Span<float> dx)
    {
        CheckLength(x, dx);
        CheckLength(g, dx);
        if (exponent == 0f) return;
        for (int i = 0; i < x.Length; i++) dx[i] += (float)(g[i] * exponent * Math.Pow(x[i], exponent - 1.0));
    }

    private static void CheckLength(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Spans of {x.Length} and {y.Length} elements differ in length.");
    }

    private readonly struct SquareOperator : IUnaryOperator
    {
        public float Invoke(float x) => x * x;
        public Vector128<float> Invoke(Vector128<float> x) => x * x;
        public Vector256<float> Invoke(Vector256<float> x) => x * x;
        public Vector512<float> Invoke(Vector512<float> x) => x * x;
    }

    private readonly struct CubeOperator : IUnaryOperator
    {
        public float Invoke(float x) => x * x * x;
        public Vector128<float> Invoke(Vector128<float> x) => x * x * x;
        public Vector256<float> Invoke(Vector256<float> x) => x * x * x;
        public Vector512<float> Invoke(Vector512<float> x) => x * x * x;
    }

    private readonly struct SqrtOperator : IUnaryOperator
    {
        public float Invoke(float x) => MathF.Sqrt(x);
        public Vector128<float> Invoke(Vector128<float> x) => Vector128.Sqrt(x);
        public Vector256<float> Invoke(Vector256<float> x) => Vector256.Sqrt(x);
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.Sqrt(x);
    }

    private readonly struct RsqrtOperator : IUnaryOperator
    {
        public float Invoke(float x) => 1f / MathF.Sqrt(x);
        public Vector128<float> Invoke(Vector128<float> x) => Vector128<float>.One / Vector128.Sqrt(x);
        public Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / Vector256.Sqrt(x);
        public Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / Vector512.Sqrt(x);
    }

    private readonly struct ReciprocalOperator : IUnaryOperator
    {
        public float Invoke(float x) => 1f / x;
        public Vector128<float> Invoke(Vector128<float> x) => Vector128<float>.One / x;
        public Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / x;
        public Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / x;
    }

    private readonly struct InverseSquareOperator : IUnaryOperator
    {
        public float Invoke(float x) => 1f / (x * x);
        public Vector128<float> Invoke(Vector128<float> x) => Vector128<float>.One / (x * x);
        public Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / (x * x);
        public Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / (x * x);
    }

    // Gradient operators take (g, x).

    private readonly struct CopyGradient : IBinaryOperator
    {
        public float Invoke(float g, float x) => g;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => g;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => g;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => g;
    }

    private readonly struct SquareGradient : IBinaryOperator // g · 2x
    {
        public float Invoke(float g, float x) => g * (x + x);
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => g * (x + x);
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => g * (x + x);
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => g * (x + x);
    }

    private readonly struct SqrtGradient : IBinaryOperator // g / (2√x)
    {
        public float Invoke(float g, float x) => g / (2f * MathF.Sqrt(x));
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) => g / (Vector128.Create(2f) * Vector128.Sqrt(x));
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => g / (Vector256.Create(2f) * Vector256.Sqrt(x));
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => g / (Vector512.Create(2f) * Vector512.Sqrt(x));
    }

    private readonly struct RsqrtGradient : IBinaryOperator // −½ · g · y³ with y = 1/√x
    {
        public float Invoke(float g, float x)
        {
            float y = 1f / MathF.Sqrt(x);
            return -0.5f * g * (y * y * y);
        }

        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
        {
            var y = Vector128<float>.One / Vector128.Sqrt(x);
            return Vector128.Create(-0.5f) * g * (y * y * y);
        }

        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
        {
            var y = Vector256<float>.One / Vector256.Sqrt(x);
            return Vector256.Create(-0.5f) * g * (y * y * y);
        }

        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
        {
            var y = Vector512<float>.One / Vector512.Sqrt(x);
            return Vector512.Create(-0.5f) * g * (y * y * y);
        }
    }

    private readonly struct ReciprocalGradient : IBinaryOperator // −g · y² with y = 1/x
    {
        public float Invoke(float g, float x)
        {
            float y = 1f / x;
            return -g * (y * y);
        }

        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x)
        {
            var y = Vector128<float>.One / x;
            return -g * (y * y);
        }

        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
        {
            var y = Vector256<float>.One / x;
            return -g * (y * y);
        }

        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
        {
            var y = Vector512<float>.One / x;
            return -g * (y * y);
        }
    }
}
