using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>y = ln x on the runtime's vectorised Log (about 1 ulp); gradient g/x.</summary>
internal static class LogKernels
{
    // x, y: (N)
    /// <summary>y = ln x.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y) => SimdLoop.Map(default(LogOperator), x, y);

    // g, x, dx: (N)
    /// <summary>dx += g / x.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx) =>
        SimdLoop.Accumulate(default(DivideOperator), g, x, dx);

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++) y[i] = (float)Math.Log(x[i]);
    }

    /// <summary>Scalar reference of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> x, Span<float> dx)
    {
        for (int i = 0; i < g.Length; i++) dx[i] += g[i] / x[i];
    }

    private readonly struct LogOperator : IUnaryOperator
    {
        public float Invoke(float x) => MathF.Log(x);
        public Vector128<float> Invoke(Vector128<float> x) => Vector128.Log(x);
        public Vector256<float> Invoke(Vector256<float> x) => Vector256.Log(x);
        public Vector512<float> Invoke(Vector512<float> x) => Vector512.Log(x);
    }
}
