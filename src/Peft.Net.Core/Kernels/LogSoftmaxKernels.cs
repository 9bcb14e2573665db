using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Row log-softmax y = (x − max) − ln Σ e^(x − max) over the last dimension: finite for any finite input
/// (no exp of a large number, no log of 0 unless a row is all −∞). −∞ entries give −∞. Gradient
/// dx = g − e^y·Σg.
/// </summary>
internal static class LogSoftmaxKernels
{
    // x, y: (R, C) with C = columns
    /// <summary>y = log_softmax(x) row by row.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        int rows = SoftmaxKernels.CheckRows(x.Length, y.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * columns, columns);
            var yr = y.Slice(r * columns, columns);
            float max = TensorPrimitives.Max(xr);
            float logSum = MathF.Log(SoftmaxKernels.ExpShiftedSum(xr, max, yr)); // yr is scratch here
            SimdLoop.Map(new ShiftOperator(max, logSum), xr, yr);
        }
    }

    // g, y, dx: (R, C) — y is the forward output
    /// <summary>dx += g − e^y · Σ g row by row.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx, int columns)
    {
        int rows = SoftmaxKernels.CheckRows(g.Length, dx.Length, columns);
        SoftmaxKernels.CheckRows(y.Length, dx.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            var gr = g.Slice(r * columns, columns);
            float sum = TensorPrimitives.Sum(gr);
            SimdLoop.Accumulate(new LogSoftmaxGradient(sum), gr, y.Slice(r * columns, columns), dx.Slice(r * columns, columns));
        }
    }

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        int rows = SoftmaxKernels.CheckRows(x.Length, y.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            int start = r * columns;
            double max = double.NegativeInfinity;
            bool hasNaN = false;
            for (int c = 0; c < columns; c++)
            {
                hasNaN |= float.IsNaN(x[start + c]);
                max = Math.Max(max, x[start + c]);
            }
            double sum = 0;
            for (int c = 0; c < columns; c++) sum += Math.Exp(x[start + c] - max);
            double logSum = Math.Log(sum);
            for (int c = 0; c < columns; c++) y[start + c] = hasNaN ? float.NaN : (float)(x[start + c] - max - logSum);
        }
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx, int columns)
    {
        int rows = SoftmaxKernels.CheckRows(g.Length, dx.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            int start = r * columns;
            double sum = 0;
            for (int c = 0; c < columns; c++) sum += g[start + c];
            for (int c = 0; c < columns; c++) dx[start + c] += (float)(g[start + c] - Math.Exp(y[start + c]) * sum);
        }
    }

    private readonly struct ShiftOperator(float max, float logSum) : IUnaryOperator
    {
        public float Invoke(float x) => x - max - logSum;
        public Vector128<float> Invoke(Vector128<float> x) => x - Vector128.Create(max) - Vector128.Create(logSum);
        public Vector256<float> Invoke(Vector256<float> x) => x - Vector256.Create(max) - Vector256.Create(logSum);
        public Vector512<float> Invoke(Vector512<float> x) => x - Vector512.Create(max) - Vector512.Create(logSum);
    }

    private readonly struct LogSoftmaxGradient(float sum) : IBinaryOperator // (g, y)
    {
        public float Invoke(float g, float y) => g - MathF.Exp(y) * sum;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => g - Vector128.Exp(y) * Vector128.Create(sum);
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g - Vector256.Exp(y) * Vector256.Create(sum);
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g - Vector512.Exp(y) * Vector512.Create(sum);
    }
}
