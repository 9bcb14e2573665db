using System.Runtime.CompilerServices;
using Peft.Net.Core.Kernels.Simd;

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

    /// <summary>Rows of Bᵀ (columns of C) per <see cref="Row"/> call.</summary>
    public const int RowColumns = 8;

    // a: (1, K)    bt: (8, K) stride ldb    c: (1, 8)
    /// <summary>
    /// The matrix-vector case (one row of A, as in decoding): c[j] (+)= Σ_p a[p]·bt[j·ldb + p] for 8 rows of Bᵀ, each
    /// loaded A vector shared by eight fused multiply-adds. Every element is computed by the same operations, in the
    /// same order, as in <see cref="Tile{TVector}"/> (lane-wise fused sums, <c>Sum</c>, then the K tail), so a row gets
    /// the same bits whichever kernel computes it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row<TVector>(int k, float* a, float* bt, nint ldb, float* c, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        float* b0 = bt, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb, b4 = b3 + ldb, b5 = b4 + ldb, b6 = b5 + ldb, b7 = b6 + ldb;
        TVector s0 = TVector.Zero, s1 = TVector.Zero, s2 = TVector.Zero, s3 = TVector.Zero;
        TVector s4 = TVector.Zero, s5 = TVector.Zero, s6 = TVector.Zero, s7 = TVector.Zero;
        int width = TVector.Count, p = 0;
        for (; p <= k - width; p += width)
        {
            TVector x = TVector.Load(ref a[p]);
            s0 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b0[p]), s0);
            s1 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b1[p]), s1);
            s2 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b2[p]), s2);
            s3 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b3[p]), s3);
            s4 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b4[p]), s4);
            s5 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b5[p]), s5);
            s6 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b6[p]), s6);
            s7 = TVector.FusedMultiplyAdd(x, TVector.Load(ref b7[p]), s7);
        }
        float r0 = TVector.Sum(s0), r1 = TVector.Sum(s1), r2 = TVector.Sum(s2), r3 = TVector.Sum(s3);
        float r4 = TVector.Sum(s4), r5 = TVector.Sum(s5), r6 = TVector.Sum(s6), r7 = TVector.Sum(s7);
        for (; p < k; p++) // K tail
        {
            float x = a[p];
            r0 += x * b0[p]; r1 += x * b1[p]; r2 += x * b2[p]; r3 += x * b3[p];
            r4 += x * b4[p]; r5 += x * b5[p]; r6 += x * b6[p]; r7 += x * b7[p];
        }
        if (accumulate)
        {
            r0 += c[0]; r1 += c[1]; r2 += c[2]; r3 += c[3]; r4 += c[4]; r5 += c[5]; r6 += c[6]; r7 += c[7];
        }
        c[0] = r0; c[1] = r1; c[2] = r2; c[3] = r3; c[4] = r4; c[5] = r5; c[6] = r6; c[7] = r7;
    }

    // a: (≥ rows, K) stride lda    bt: (≥ cols, K) stride ldb    c: (rows, cols) stride ldc
    /// <summary>
    /// c[r, j] (+)= Σ_p a[r·lda + p]·bt[j·ldb + p] for r &lt; <paramref name="rows"/> (≤ 2), j &lt; <paramref name="cols"/> (≤ 4),
    /// p &lt; <paramref name="k"/>: eight dot products share each loaded vector. Missing rows and columns repeat the last one
    /// and are not stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile<TVector>(int k, float* a, nint lda, float* bt, nint ldb, float* c, nint ldc,
        int rows, int cols, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        float* a0 = a, a1 = a + (rows > 1 ? lda : 0);
        float* b0 = bt, b1 = bt + (cols > 1 ? ldb : 0), b2 = bt + (cols > 2 ? 2 * ldb : 0), b3 = bt + (cols > 3 ? 3 * ldb : 0);
        TVector s00 = TVector.Zero, s01 = TVector.Zero, s02 = TVector.Zero, s03 = TVector.Zero;
        TVector s10 = TVector.Zero, s11 = TVector.Zero, s12 = TVector.Zero, s13 = TVector.Zero;
        int width = TVector.Count, p = 0;
        for (; p <= k - width; p += width)
        {
            TVector x0 = TVector.Load(ref a0[p]), x1 = TVector.Load(ref a1[p]);
            TVector y = TVector.Load(ref b0[p]);
            s00 = TVector.FusedMultiplyAdd(x0, y, s00);
            s10 = TVector.FusedMultiplyAdd(x1, y, s10);
            y = TVector.Load(ref b1[p]);
            s01 = TVector.FusedMultiplyAdd(x0, y, s01);
            s11 = TVector.FusedMultiplyAdd(x1, y, s11);
            y = TVector.Load(ref b2[p]);
            s02 = TVector.FusedMultiplyAdd(x0, y, s02);
            s12 = TVector.FusedMultiplyAdd(x1, y, s12);
            y = TVector.Load(ref b3[p]);
            s03 = TVector.FusedMultiplyAdd(x0, y, s03);
            s13 = TVector.FusedMultiplyAdd(x1, y, s13);
        }
        Span<float> sums = stackalloc float[Rows * Columns];
        sums[0] = TVector.Sum(s00); sums[1] = TVector.Sum(s01); sums[2] = TVector.Sum(s02); sums[3] = TVector.Sum(s03);
        sums[4] = TVector.Sum(s10); sums[5] = TVector.Sum(s11); sums[6] = TVector.Sum(s12); sums[7] = TVector.Sum(s13);
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
