using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>y = max(x, 0) (NaN stays NaN); gradient g where x &gt; 0, else 0.</summary>
internal static class ReluKernels
{
    // x, y: (N)
    /// <summary>y = max(x, 0).</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => SimdLoop.Map(default(ReluOperator), x, y);

    // g, x, dx: (N)
    /// <summary>dx += x &gt; 0 ? g : 0.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx) =>
        SimdLoop.Accumulate(default(ReluGradient), g, x, dx);

    /// <summary>Scalar reference of <see cref="Forward"/>.</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = float.IsNaN(x[i]) ? x[i] : x[i] > 0 ? x[i] : 0f;
    }

    /// <summary>Scalar reference of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += x[i] > 0 ? g[i] : 0f;
    }

    private readonly struct ReluOperator : IUnaryOperator
    {
        // x where x > 0 or x is NaN (x ≠ x), else +0.
        public float Invoke(float x) => x > 0 || float.IsNaN(x) ? x : 0f;

        public Vector128<float> Invoke(Vector128<float> x) =>
            Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero) | ~Vector128.Equals(x, x), x, Vector128<float>.Zero);

        public Vector256<float> Invoke(Vector256<float> x) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero) | ~Vector256.Equals(x, x), x, Vector256<float>.Zero);

        public Vector512<float> Invoke(Vector512<float> x) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero) | ~Vector512.Equals(x, x), x, Vector512<float>.Zero);
    }

    private readonly struct ReluGradient : IBinaryOperator // (g, x)
    {
        public float Invoke(float g, float x) => x > 0 ? g : 0f;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> x) =>
            Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), g, Vector128<float>.Zero);
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, Vector256<float>.Zero);
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, Vector512<float>.Zero);
    }
}
