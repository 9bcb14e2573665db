using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// y = tanh x on <see cref="TensorPrimitives.Tanh{T}(ReadOnlySpan{T}, Span{T})"/> (vectorised, keeps relative
/// accuracy near 0); gradient g·(1 − y²) from the saved output.
/// </summary>
internal static class TanhKernels
{
    // x, y: (N)
    /// <summary>y = tanh x.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => TensorPrimitives.Tanh(x, y);

    // g, y, dx: (N) — y is the forward output
    /// <summary>dx += g · (1 − y²).</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx) =>
        SimdLoop.Accumulate(default(TanhGradient), g, y, dx);

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Tanh(x[i]);
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += (float)(g[i] * (1.0 - (double)y[i] * y[i]));
    }

    private readonly struct TanhGradient : IBinaryOperator // (g, y)
    {
        public float Invoke(float g, float y) => g * (1f - y * y);
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g * (Vector128<float>.One - y * y);
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256<float>.One - y * y);
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512<float>.One - y * y);
    }
}
