using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// C (+)= Aᵀ·B for a few rows of C, with A stored (K, M) and B (K, N), both row-major: a LoRA weight gradient
/// dA[R, in] = duᵀ·x with du (tokens, R) and x (tokens, in), or dBᵀ = uᵀ·g. Each element of B meets only M rows of A,
/// so packing B (a copy of all of it) would cost more than the product; B is streamed in place instead, row after row
/// as memory holds it: for a block of <see cref="BlockColumns"/> columns, the partial sums of all the rows of C
/// (<see cref="Rows"/> × the block, 16 KB) stay in L1 while sweeps of <see cref="Depth"/> rows of B pass through them.
/// (Walking the K rows of B down one column strip at a time instead reads one cache line per row, K·4 bytes apart:
/// with B out of cache that ran at a few GB/s.) Every element of C is the same chain of fused multiply-adds over k in
/// order, from zero, then added to C when accumulating, whether a vector lane or the scalar column tail computes it,
/// so any split of the columns (a multiple of the register width) gives the same bits.
/// </summary>
internal static unsafe partial class GemmOuterKernel
{
    /// <summary>Rows of C per pass over B.</summary>
    public const int Rows = 8;

    /// <summary>Columns of C whose partial sums one sweep updates: Rows × 512 floats (16 KB) stay in L1.</summary>
    public const int BlockColumns = 512;

    /// <summary>Rows of B per sweep over a block: each partial sum is loaded and stored once per Depth multiply-adds.</summary>
    private const int Depth = 4;

    /// <summary>Floats of the partial-sum scratch <see cref="Columns{TVector}"/> needs.</summary>
    public const int SumsLength = Rows * BlockColumns;

    // a: (K, ≥ 8) rows lda apart (columns past m are read but not stored)    b: (K, ≥ n1) rows ldb apart
    // c: (m, ≥ n1) rows ldc apart; columns [n0, n1), m ≤ Rows; sums: SumsLength floats of scratch, 64-byte aligned
    /// <summary>c[r, j] (+)= Σ_p a[p·lda + r]·b[p·ldb + j] for r &lt; <paramref name="m"/> and j in [n0, n1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Columns<TVector>(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        int n0, int n1, bool accumulate, float* sums)
        where TVector : struct, IFloatVector<TVector>
    {
        if (typeof(TVector) == typeof(FloatVector512) && StripsAreSupported && !UseSweepsForTests)
        {
            ColumnsOnRegisters512(k, m, a, lda, b, ldb, c, ldc, n0, n1, accumulate, sums);
            return;
        }
        int w = TVector.Count, end = n0 + (n1 - n0) / w * w;
        int rows = (m + 1) & ~1; // rows of sums in pairs; a row past m is computed, not stored
        for (int j0 = n0; j0 < end; j0 += BlockColumns)
        {
            int width = Math.Min(BlockColumns, end - j0);
            new Span<float>(sums, rows * width).Clear();
            float* block = b + j0;
            int p = 0;
            for (; p + Depth <= k; p += Depth)
                for (int r = 0; r < rows; r += 2)
                {
                    // Each pass over the four rows asks for one of the next four (past the end it is only a hint).
                    float* ahead = block + (p + Depth + Math.Min(r / 2, Depth - 1)) * ldb;
                    Sweep4<TVector>(a + p * lda + r, lda, block + p * ldb, ldb, sums + r * width, width, ahead);
                }
            for (; p < k; p++)
                for (int r = 0; r < rows; r += 2)
                    Sweep1<TVector>(a + p * lda + r, block + p * ldb, sums + r * width, width);
            ElementwiseKernels.StoreRows(sums, width, c + j0, ldc, m, width, accumulate);
        }
        ColumnTail(k, m, a, lda, b, ldb, c, ldc, end, n1, accumulate);
    }

    // columns [j0, j1) of c: (m, ≥ j1), past the last whole register
    /// <summary>The column tail: each lane's chain, one column at a time.</summary>
    private static void ColumnTail(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int j0, int j1, bool accumulate)
    {
        for (int j = j0; j < j1; j++)
            for (int r = 0; r < m; r++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s = MathF.FusedMultiplyAdd(a[p * lda + r], b[p * ldb + j], s);
                float* cr = c + r * ldc + j;
                *cr = accumulate ? *cr + s : s;
            }
    }

    // a: A[p.., r..r+1] (rows lda apart)    b: 4 rows of the block, ldb apart    s: two rows of sums, width apart
    /// <summary>s[0, j] and s[1, j] take the next four multiply-adds of their chains: rows p..p+3 of B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sweep4<TVector>(float* a, nint lda, float* b, nint ldb, float* s, int width, float* ahead)
        where TVector : struct, IFloatVector<TVector>
    {
        TVector a00 = TVector.Create(a[0]), a01 = TVector.Create(a[1]);
        TVector a10 = TVector.Create(a[lda]), a11 = TVector.Create(a[lda + 1]);
        TVector a20 = TVector.Create(a[2 * lda]), a21 = TVector.Create(a[2 * lda + 1]);
        TVector a30 = TVector.Create(a[3 * lda]), a31 = TVector.Create(a[3 * lda + 1]);
        float* b1 = b + ldb, b2 = b1 + ldb, b3 = b2 + ldb, s1 = s + width;
        for (nint j = 0; j < width; j += TVector.Count)
        {
            if (Sse.IsSupported) Sse.Prefetch0(ahead + j);
            TVector x0 = TVector.Load(ref b[j]), x1 = TVector.Load(ref b1[j]), x2 = TVector.Load(ref b2[j]), x3 = TVector.Load(ref b3[j]);
            TVector t0 = TVector.Load(ref s[j]), t1 = TVector.Load(ref s1[j]);
            t0 = TVector.FusedMultiplyAdd(a00, x0, t0);
            t1 = TVector.FusedMultiplyAdd(a01, x0, t1);
            t0 = TVector.FusedMultiplyAdd(a10, x1, t0);
            t1 = TVector.FusedMultiplyAdd(a11, x1, t1);
            t0 = TVector.FusedMultiplyAdd(a20, x2, t0);
            t1 = TVector.FusedMultiplyAdd(a21, x2, t1);
            t0 = TVector.FusedMultiplyAdd(a30, x3, t0);
            t1 = TVector.FusedMultiplyAdd(a31, x3, t1);
            TVector.Store(t0, ref s[j]);
            TVector.Store(t1, ref s1[j]);
        }
    }

    // a: A[p, r..r+1]    b: one row of the block    s: two rows of sums, width apart
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sweep1<TVector>(float* a, float* b, float* s, int width)
        where TVector : struct, IFloatVector<TVector>
    {
        TVector a0 = TVector.Create(a[0]), a1 = TVector.Create(a[1]);
        float* s1 = s + width;
        for (nint j = 0; j < width; j += TVector.Count)
        {
            TVector x = TVector.Load(ref b[j]);
            TVector.Store(TVector.FusedMultiplyAdd(a0, x, TVector.Load(ref s[j])), ref s[j]);
            TVector.Store(TVector.FusedMultiplyAdd(a1, x, TVector.Load(ref s1[j])), ref s1[j]);
        }
    }
}
