using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Row softmax y = e^(x − max) / Σ e^(x − max) over the last dimension, stable for any finite input; −∞ entries
/// (masks) get exactly 0. As in PyTorch, a row that is entirely −∞ or holds +∞ or NaN gives NaN.
/// Gradient dx = y·(g − Σ g·y).
/// </summary>
internal static class SoftmaxKernels
{
    // x, y: (R, C) with C = columns
    /// <summary>y = softmax(x) row by row.</summary>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        int rows = CheckRows(x.Length, y.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * columns, columns);
            var yr = y.Slice(r * columns, columns);
            float max = TensorPrimitives.Max(xr);
            float sum = ExpShiftedSum(xr, max, yr);
            TensorPrimitives.Multiply(yr, 1f / sum, yr);
        }
    }

    // g, y, dx: (R, C) — y is the forward output
    /// <summary>dx += y · (g − Σ g·y) row by row.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx, int columns)
    {
        int rows = CheckRows(g.Length, dx.Length, columns);
        CheckRows(y.Length, dx.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            var gr = g.Slice(r * columns, columns);
            var yr = y.Slice(r * columns, columns);
            float dot = TensorPrimitives.Dot(gr, yr);
            SimdLoop.Accumulate(new SoftmaxGradient(dot), gr, yr, dx.Slice(r * columns, columns));
        }
    }

    /// <summary>Scalar reference of <see cref="Forward"/> (double precision).</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, Span<float> y, int columns)
    {
        int rows = CheckRows(x.Length, y.Length, columns);
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
            for (int c = 0; c < columns; c++) y[start + c] = hasNaN ? float.NaN : (float)(Math.Exp(x[start + c] - max) / sum);
        }
    }

    /// <summary>Scalar reference of <see cref="Backward"/> (double precision).</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> y, Span<float> dx, int columns)
    {
        int rows = CheckRows(g.Length, dx.Length, columns);
        for (int r = 0; r < rows; r++)
        {
            int start = r * columns;
            double dot = 0;
            for (int c = 0; c < columns; c++) dot += (double)g[start + c] * y[start + c];
            for (int c = 0; c < columns; c++) dx[start + c] += (float)(y[start + c] * (g[start + c] - dot));
        }
    }

    // x, y: (C)
    /// <summary>y = e^(x − shift); returns Σ y. Shared by softmax and log-softmax.</summary>
    internal static float ExpShiftedSum(ReadOnlySpan<float> x, float shift, Span<float> y)
    {
        if (x.Length != y.Length)
            throw new ArgumentException($"Spans of {x.Length} and {y.Length} elements differ in length.");
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        nuint n = (nuint)x.Length, i = 0;
        float sum = 0;
        if (FloatVector512.IsHardwareAccelerated) sum += ExpShiftedSumVectors<FloatVector512>(ref xr, ref yr, n, ref i, shift);
        if (FloatVector256.IsHardwareAccelerated) sum += ExpShiftedSumVectors<FloatVector256>(ref xr, ref yr, n, ref i, shift);
        // at most one Vector128 block (as before the width-generic rewrite: same summation order on every machine)
        if (FloatVector128.IsHardwareAccelerated) sum += ExpShiftedSumVectors<FloatVector128>(ref xr, ref yr, Math.Min(n, i + 4), ref i, shift);
        for (; i < n; i++)
        {
            float e = MathF.Exp(Unsafe.Add(ref xr, i) - shift);
            Unsafe.Add(ref yr, i) = e;
            sum += e;
        }
        return sum;
    }

    // x, y: (C), from index i on → Σ of the lanes written; i advances past the whole vectors
    /// <summary>The whole-vector part of <see cref="ExpShiftedSum"/> at one width (adds 0 when none fits).</summary>
    private static float ExpShiftedSumVectors<TVector>(ref float x, ref float y, nuint n, ref nuint i, float shift)
        where TVector : struct, IFloatVector<TVector>
    {
        nuint width = (nuint)TVector.Count;
        if (i + width > n) return 0f;
        var s = TVector.Create(shift);
        var acc = TVector.Zero;
        for (; i + width <= n; i += width)
        {
            var e = TVector.Exp(TVector.Load(ref Unsafe.Add(ref x, i)) - s);
            TVector.Store(e, ref Unsafe.Add(ref y, i));
            acc += e;
        }
        return TVector.Sum(acc);
    }

    /// <summary>The number of rows; checks that both spans hold whole rows of the same count.</summary>
    internal static int CheckRows(int length, int otherLength, int columns)
    {
        if (columns <= 0)
            throw new ArgumentOutOfRangeException(nameof(columns), $"A row needs at least one column; got {columns}.");
        if (length != otherLength || length % columns != 0)
            throw new ArgumentException($"Spans of {length} and {otherLength} elements are not the same whole number of rows of {columns}.");
        return length / columns;
    }

    private readonly struct SoftmaxGradient(float dot) : IBinaryOperator // (g, y)
    {
        public float Invoke(float g, float y) => y * (g - dot);
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> y) => y * (g - Vector128.Create(dot));
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => y * (g - Vector256.Create(dot));
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => y * (g - Vector512.Create(dot));
    }
}
