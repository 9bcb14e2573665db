using System.Numerics.Tensors;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Sums and maxima over one dimension. The input is seen as (O, N, I): O = product of the dimensions before the
/// reduced one, N = the reduced dimension, I = product of those after it; the result is (O, I).
/// </summary>
internal static class ReductionKernels
{
    private const int SumBlock = 4096;

    // x: (O, N, I); y: (O, I)
    /// <summary>y[o, i] = Σ_n x[o, n, i].</summary>
    public static void Sum(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner)
    {
        CheckShapes(x.Length, y.Length, outer, n, inner);
        if (y.IsEmpty) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) y[o] = SumAll(x.Slice(o * n, n));
            return;
        }
        y.Clear();
        for (int o = 0; o < outer; o++)
        {
            var yo = y.Slice(o * inner, inner);
            for (int j = 0; j < n; j++)
                TensorPrimitives.Add(yo, x.Slice((o * n + j) * inner, inner), yo);
        }
    }

    // g: (O, I); dx: (O, N, I)
    /// <summary>dx[o, n, i] += scale · g[o, i] (the gradient of a sum, or of a mean with scale = 1/N).</summary>
    public static void SumBackward(ReadOnlySpan<float> g, Span<float> dx, int outer, int n, int inner, float scale)
    {
        CheckShapes(dx.Length, g.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
        {
            var go = g.Slice(o * inner, inner);
            for (int j = 0; j < n; j++)
            {
                var dxo = dx.Slice((o * n + j) * inner, inner);
                if (inner == 1) dxo[0] += scale * go[0];
                else TensorPrimitives.MultiplyAdd(go, scale, dxo, dxo);
            }
        }
    }

    // x: (N)
    /// <summary>Σ x, summed in blocks whose partial sums are added in double (accurate for long spans).</summary>
    public static float SumAll(ReadOnlySpan<float> x)
    {
        if (x.Length <= SumBlock) return TensorPrimitives.Sum(x);
        double total = 0;
        for (int start = 0; start < x.Length; start += SumBlock)
            total += TensorPrimitives.Sum(x.Slice(start, Math.Min(SumBlock, x.Length - start)));
        return (float)total;
    }

    // x: (O, N, I) with N ≥ 1; y: (O, I)
    /// <summary>y[o, i] = max_n x[o, n, i] (NaN if any element is NaN).</summary>
    public static void Max(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner)
    {
        CheckShapes(x.Length, y.Length, outer, n, inner);
        if (n == 0)
            throw new ArgumentException("The maximum over an empty dimension is undefined.", nameof(n));
        for (int o = 0; o < outer; o++)
        {
            if (inner == 1)
            {
                y[o] = TensorPrimitives.Max(x.Slice(o * n, n));
                continue;
            }
            var yo = y.Slice(o * inner, inner);
            x.Slice(o * n * inner, inner).CopyTo(yo);
            for (int j = 1; j < n; j++)
                TensorPrimitives.Max(yo, x.Slice((o * n + j) * inner, inner), yo);
        }
    }

    // g, y: (O, I); x, dx: (O, N, I)
    /// <summary>dx[o, n*, i] += g[o, i] at the first n* where x equals the maximum y (or is NaN when y is).</summary>
    public static void MaxBackward(ReadOnlySpan<float> g, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dx, int outer, int n, int inner)
    {
        CheckShapes(x.Length, y.Length, outer, n, inner);
        CheckShapes(dx.Length, g.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                float m = y[o * inner + i];
                for (int j = 0; j < n; j++)
                {
                    int index = (o * n + j) * inner + i;
                    if (x[index] == m || (float.IsNaN(m) && float.IsNaN(x[index])))
                    {
                        dx[index] += g[o * inner + i];
                        break;
                    }
                }
            }
    }

    /// <summary>Scalar reference of <see cref="Sum"/> (double accumulation).</summary>
    public static void SumReference(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner)
    {
        CheckShapes(x.Length, y.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++) sum += x[(o * n + j) * inner + i];
                y[o * inner + i] = (float)sum;
            }
    }

    /// <summary>Scalar reference of <see cref="SumBackward"/>.</summary>
    public static void SumBackwardReference(ReadOnlySpan<float> g, Span<float> dx, int outer, int n, int inner, float scale)
    {
        CheckShapes(dx.Length, g.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < inner; i++)
                    dx[(o * n + j) * inner + i] += scale * g[o * inner + i];
    }

    /// <summary>Scalar reference of <see cref="Max"/>.</summary>
    public static void MaxReference(ReadOnlySpan<float> x, Span<float> y, int outer, int n, int inner)
    {
        CheckShapes(x.Length, y.Length, outer, n, inner);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                float m = float.NegativeInfinity;
                for (int j = 0; j < n; j++)
                {
                    float v = x[(o * n + j) * inner + i];
                    if (float.IsNaN(v) || v > m) m = v;
                    if (float.IsNaN(m)) break;
                }
                y[o * inner + i] = m;
            }
    }

    private static void CheckShapes(int full, int reduced, int outer, int n, int inner)
    {
        if (outer < 0 || n < 0 || inner < 0 || (long)outer * n * inner != full || (long)outer * inner != reduced)
            throw new ArgumentException($"Spans of {full} and {reduced} elements do not match a reduction of ({outer}, {n}, {inner}) to ({outer}, {inner}).");
    }
}
