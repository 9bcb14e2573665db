using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>y = eˣ on the runtime's vectorised Exp (about 1 ulp); gradient g·y from the saved output.</summary>
internal static class ExpKernels
{
    // x, y: (N)
    /// <summary>y = eˣ.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => SimdLoop.Map(default(ExpOperator), x, y);

    // g, y, dx: (N) — y is the forward output
    /// <summary>dx += g · y.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx) =>
        SimdLoop.Accumulate(default(MultiplyOperator), g, y, dx);

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Exp(x[i]);
    }

    /// <summary>Scalar reference of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += g[i] * y[i];
    }

    private readonly struct ExpOperator : IUnaryOperator
    {
        public float Invoke(float x) => MathF.Exp(x);
        public Vector128<float> Invoke(Vector128<float> x) => Vector128.Exp(x);
        public Vector256<float> Invoke(Vector256<float> x) => Vector256.Exp(x);
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.Exp(x);
    }
}
