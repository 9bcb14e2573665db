using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Dot-product GEMM kernel for thin products, where packing A would cost as much as the multiply (few output
/// columns, e.g. a LoRA down-projection x·Aᵀ with N = rank, or a single row): each C element is a dot product of a
/// row of A with a row of Bᵀ, both contiguous along K, vectorised along K.
/// </summary>
internal static unsafe partial class GemmDotKernel
{
    /// <summary>Rows of A per tile.</summary>
    public const int Rows = 2;

    /// <summary>Rows of Bᵀ (columns of C) per tile.</summary>
    public const int Columns = 4;

    /// <summary>
    /// How far ahead of its loads <see cref="Row{TVector}"/> asks for Bᵀ, in floats (8 KB): the hardware prefetcher
    /// alone let a decode step stream its weights at about 60 % of a plain sum's rate on one core; asking this far
    /// ahead made decoding 20–35 % faster on 1 and 2 threads (AMD EPYC Zen 3 class, 2026-12-07).
    /// </summary>
    internal const int RowPrefetchDistance = 2048;

    // a: (1, K)    bt: (cols, K) stride ldb    c: (1, cols)
    /// <summary>
    /// The matrix-vector case (one row of A, as in decoding), bound by reading Bᵀ: c[j] (+)= Σ_p a[p]·bt[j·ldb + p],
    /// one row of Bᵀ after the other, so memory is read as one sequential stream (the hardware prefetcher keeps up
    /// with that better than with several interleaved rows); four accumulators hide the fused multiply-add latency,
    /// and A stays in L1. Bᵀ is also asked for <see cref="RowPrefetchDistance"/> floats ahead, non-temporally (each
    /// weight is read once per call; past its end a prefetch is a hint that cannot fault). Each element depends only
    /// on its own row of Bᵀ, so any split of the columns gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row<TVector>(int k, float* a, float* bt, nint ldb, float* c, int cols, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        nint width = TVector.Count;
        for (int j = 0; j < cols; j++)
        {
            float* b = bt + j * ldb;
            TVector s0 = TVector.Zero, s1 = TVector.Zero, s2 = TVector.Zero, s3 = TVector.Zero;
            nint p = 0; // native-sized, so every load is one addressing mode off a and b
            for (; p <= k - 4 * width; p += 4 * width)
            {
                float* x = a + p, y = b + p;
                PrefetchStream(y + RowPrefetchDistance, 4 * (int)width);
                s0 = TVector.FusedMultiplyAdd(TVector.Load(ref x[0]), TVector.Load(ref y[0]), s0);
                s1 = TVector.FusedMultiplyAdd(TVector.Load(ref x[width]), TVector.Load(ref y[width]), s1);
                s2 = TVector.FusedMultiplyAdd(TVector.Load(ref x[2 * width]), TVector.Load(ref y[2 * width]), s2);
                s3 = TVector.FusedMultiplyAdd(TVector.Load(ref x[3 * width]), TVector.Load(ref y[3 * width]), s3);
            }
            for (; p <= k - width; p += width)
                s0 = TVector.FusedMultiplyAdd(TVector.Load(ref a[p]), TVector.Load(ref b[p]), s0);
            float sum = TVector.Sum((s0 + s1) + (s2 + s3));
            for (; p < k; p++) sum += a[p] * b[p]; // K tail
            c[j] = accumulate ? c[j] + sum : sum;
        }
    }

    // a: (2, K) rows lda apart    bt: (cols, K) stride ldb    c: (2, cols) rows ldc apart
    /// <summary>
    /// <see cref="Row{TVector}"/> for two rows of A at once (a batch of two to four sequences decoding): Bᵀ is still
    /// read as one sequential stream, row after row, and each loaded piece of it serves both rows of A. Each element is
    /// summed exactly as <see cref="Row{TVector}"/> sums it (four accumulators over p, the same reduction and K tail),
    /// so a row of a batch gives the bits of that row decoded alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RowPair<TVector>(int k, float* a, nint lda, float* bt, nint ldb, float* c, nint ldc, int cols, bool accumulate)
        where TVector : struct, IFloatVector<TVector>
    {
        nint width = TVector.Count;
        float* a1 = a + lda;
        for (int j = 0; j < cols; j++)
        {
            float* b = bt + j * ldb;
            TVector s0 = TVector.Zero, s1 = TVector.Zero, s2 = TVector.Zero, s3 = TVector.Zero;
            TVector t0 = TVector.Zero, t1 = TVector.Zero, t2 = TVector.Zero, t3 = TVector.Zero;
            nint p = 0;
            for (; p <= k - 4 * width; p += 4 * width)
            {
                float* x = a + p, z = a1 + p, y = b + p;
                PrefetchStream(y + RowPrefetchDistance, 4 * (int)width);
                TVector y0 = TVector.Load(ref y[0]), y1 = TVector.Load(ref y[width]);
                s0 = TVector.FusedMultiplyAdd(TVector.Load(ref x[0]), y0, s0);
                t0 = TVector.FusedMultiplyAdd(TVector.Load(ref z[0]), y0, t0);
                s1 = TVector.FusedMultiplyAdd(TVector.Load(ref x[width]), y1, s1);
                t1 = TVector.FusedMultiplyAdd(TVector.Load(ref z[width]), y1, t1);
                TVector y2 = TVector.Load(ref y[2 * width]), y3 = TVector.Load(ref y[3 * width]);
                s2 = TVector.FusedMultiplyAdd(TVector.Load(ref x[2 * width]), y2, s2);
                t2 = TVector.FusedMultiplyAdd(TVector.Load(ref z[2 * width]), y2, t2);
                s3 = TVector.FusedMultiplyAdd(TVector.Load(ref x[3 * width]), y3, s3);
                t3 = TVector.FusedMultiplyAdd(TVector.Load(ref z[3 * width]), y3, t3);
            }
            for (; p <= k - width; p += width)
            {
                TVector y0 = TVector.Load(ref b[p]);
                s0 = TVector.FusedMultiplyAdd(TVector.Load(ref a[p]), y0, s0);
                t0 = TVector.FusedMultiplyAdd(TVector.Load(ref a1[p]), y0, t0);
            }
            float sum0 = TVector.Sum((s0 + s1) + (s2 + s3)), sum1 = TVector.Sum((t0 + t1) + (t2 + t3));
            for (; p < k; p++) // K tail
            {
                sum0 += a[p] * b[p];
                sum1 += a1[p] * b[p];
            }
            c[j] = accumulate ? c[j] + sum0 : sum0;
            c[ldc + j] = accumulate ? c[ldc + j] + sum1 : sum1;
        }
    }

    /// <summary>
    /// Asks for the cache lines of <paramref name="floats"/> (a constant: 4, 16, 32 or 64) floats from
    /// <paramref name="address"/>, one prefetch per 64-byte line, unrolled (x86 only).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchStream(float* address, int floats)
    {
        if (!Sse.IsSupported) return;
        Sse.PrefetchNonTemporal(address);
        if (floats > 16) Sse.PrefetchNonTemporal(address + 16);
        if (floats > 32)
        {
            Sse.PrefetchNonTemporal(address + 32);
            Sse.PrefetchNonTemporal(address + 48);
        }
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
        if (!UseGenericTileForTests && FmaRegisters.Cover<TVector>())
        {
            if (typeof(TVector) == typeof(FloatVector256))
                TileOnRegisters<Vector256<float>, Fma256>(k, a, lda, bt, ldb, c, ldc, rows, cols, accumulate);
            else
                TileOnRegisters<Vector512<float>, Fma512>(k, a, lda, bt, ldb, c, ldc, rows, cols, accumulate);
            return;
        }
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
        FinishTile(sums, (int)p, k, a0, a1, b0, b1, b2, b3, c, ldc, rows, cols, accumulate);
    }

    /// <summary>Tests only: run the generic <see cref="Tile{TVector}"/> at 8 and 16 floats too, to compare its bits with <see cref="TileOnRegisters{TReg, TOps}"/>.</summary>
    internal static bool UseGenericTileForTests;

    // Tile<FloatVector256> and Tile<FloatVector512> on raw registers (IFmaRegister): through the generic wrapper the
    // JIT copied every accumulator after its multiply-add (five extra moves per eight FMAs) and sign-extended the index
    // each step. The same FMAs in the same order, the same reduction and K tail: the same bits.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TileOnRegisters<TReg, TOps>(int k, float* a, nint lda, float* bt, nint ldb, float* c, nint ldc,
        int rows, int cols, bool accumulate)
        where TReg : struct
        where TOps : struct, IFmaRegister<TReg>
    {
        float* a0 = a, a1 = a + (rows > 1 ? lda : 0);
        float* b0 = bt, b1 = bt + (cols > 1 ? ldb : 0), b2 = bt + (cols > 2 ? 2 * ldb : 0), b3 = bt + (cols > 3 ? 3 * ldb : 0);
        TReg s00 = default, s01 = default, s02 = default, s03 = default;
        TReg s10 = default, s11 = default, s12 = default, s13 = default;
        nint p = 0, w = TOps.Count;
        for (; p <= k - w; p += w)
        {
            var x0 = TOps.Load(a0 + p);
            var x1 = TOps.Load(a1 + p);
            var y = TOps.Load(b0 + p);
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
        FinishTile(sums, (int)p, k, a0, a1, b0, b1, b2, b3, c, ldc, rows, cols, accumulate);
    }

    // sums: (2, 4) the tile's vector sums so far, over p < p0    → c: (rows, cols) rows ldc apart
    /// <summary>Adds the K tail [p0, k) to a tile's sums, one scalar product at a time, and stores (or adds) the tile.</summary>
    private static void FinishTile(Span<float> sums, int p0, int k, float* a0, float* a1, float* b0, float* b1, float* b2,
        float* b3, float* c, nint ldc, int rows, int cols, bool accumulate)
    {
        for (int p = p0; p < k; p++) // K tail
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
