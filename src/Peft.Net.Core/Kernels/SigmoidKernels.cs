using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>y = σ(x) = 1/(1 + e^(−x)); gradient g·y·(1 − y) from the saved output (PyTorch's formula).</summary>
internal static class SigmoidKernels
{
    // x, y: (N)
    /// <summary>y = σ(x).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => SimdLoop.Map(default(SigmoidOperator), x, y);

    // g, y, dx: (N) — y is the forward output
    /// <summary>dx += g · y · (1 − y).</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx) =>
        SimdLoop.Accumulate(default(SigmoidGradient), g, y, dx);

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)ReferenceMath.Sigmoid(x[i]);
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += (float)((double)g[i] * y[i] * (1.0 - y[i]));
    }

    private readonly struct SigmoidOperator : IUnaryOperator
    {
        public float Invoke(float x) => VectorMath.Sigmoid(x);
        public Vector128<float> Invoke(Vector128<float> x) => VectorMath.Sigmoid(x);
        public Vector256<float> Invoke(Vector256<float> x) => VectorMath.Sigmoid(x);
        public Vector512<float> Invoke(Vector512<float> x) => VectorMath.Sigmoid(x);
    }

    private readonly struct SigmoidGradient : IBinaryOperator // (g, y)
    {
        public float Invoke(float g, float y) => g * (1f - y) * y;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g * (Vector128<float>.One - y) * y;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256<float>.One - y) * y;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512<float>.One - y) * y;
    }
}
