using System.Runtime.CompilerServices;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Dot-product GEMM kernel for thin products, where packing A would cost as much as the multiply (few output
/// columns, e.g. a LoRA down-projection x·Aᵀ with N = rank, or a single row): each C element is a dot product of a
/// row of A with a row of Bᵀ, both contiguous along K, vectorised along K.
/// </summary>
internal static unsafe class GemmDotKernel
{
    /// <summary>Rows of A per tile.</summary>
    public const int Rows = 2;

    /// <summary>Rows of Bᵀ (columns of C) per tile.</summary>
    public const int Columns = 4;

    // a: (≥ rows, K) stride lda    bt: (≥ cols, K) stride ldb    c: (rows, cols) stride ldc
    /// <summary>
    /// c[r, j] (+)= Σ_p a[r·lda + p]·bt[j·ldb + p] for r &lt; <paramref name="rows"/> (≤ 2), j &lt; <paramref name="cols"/> (≤ 4),
    /// p &lt; <paramref name="k"/>: eight dot products share each loaded vector. Missing rows and columns repeat the last one
    /// and are not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile<TOps, TVector>(int k, float* a, nint lda, float* bt, nint ldb, float* c, nint ldc,
        int rows, int cols, bool accumulate)
        where TOps : struct, IGemmVectorOps<TVector>
        where TVector : struct
    {
        float* a0 = a, a1 = a + (rows > 1 ? lda : 0);
        float* b0 = bt, b1 = bt + (cols > 1 ? ldb : 0), b2 = bt + (cols > 2 ? 2 * ldb : 0), b3 = bt + (cols > 3 ? 3 * ldb : 0);
        TVector s00 = default, s01 = default, s02 = default, s03 = default;
        TVector s10 = default, s11 = default, s12 = default, s13 = default;
        int width = TOps.Count, p = 0;
        for (; p <= k - width; p += width)
        {
            TVector x0 = TOps.Load(a0 + p), x1 = TOps.Load(a1 + p);
            TVector y = TOps.Load(b0 + p);
            s00 = TOps.MultiplyAdd(x0, y, s00);
            s10 = TOps.MultiplyAdd(x1, y, s10);
            y = TOps.Load(b1 + p);
            s01 = TOps.MultiplyAdd(x0, y, s01);
            s11 = TOps.MultiplyAdd(x1, y, s11);
            y = TOps.Load(b2 + p);
            s02 = TOps.MultiplyAdd(x0, y, s02);
            s12 = TOps.MultiplyAdd(x1, y, s12);
            y = TOps.Load(b3 + p);
            s03 = TOps.MultiplyAdd(x0, y, s03);
            s13 = TOps.MultiplyAdd(x1, y, s13);
        }
        Span<float> sums = stackalloc float[Rows * Columns];
        sums[0] = TOps.Sum(s00); sums[1] = TOps.Sum(s01); sums[2] = TOps.Sum(s02); sums[3] = TOps.Sum(s03);
        sums[4] = TOps.Sum(s10); sums[5] = TOps.Sum(s11); sums[6] = TOps.Sum(s12); sums[7] = TOps.Sum(s13);
        for (; p < k; p++) // K tail
        {
            float x0 = a0[p], x1 = a1[p], y0 = b0[p], y1 = b1[p], y2 = b2[p], y3 = b3[p];
            sums[0] += x0 * y0; sums[1] += x0 * y1; sums[2] += x0 * y2; sums[3] += x0 * y3;
            sums[4] += x1 * y0; sums[5] += x1 * y1; sums[6] += x1 * y2; sums[7] += x1 * y3;
        }
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
        {
            float value = sums[r * Columns + j];
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + value : value;
        }
    }
}
