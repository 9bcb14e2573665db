using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class GemmOuterKernel
{
    /// <summary>Rows of B a strip walks between loading and storing its partial sums (a panel: 128 rows × 512 columns, 256 KB, in L2).</summary>
    private const int PanelRows = 128;

    /// <summary>Columns of one register strip: 3 registers of 16 floats, × 8 rows of C = 24 accumulators.</summary>
    private const int StripColumns = 48;

    /// <summary>Whether <see cref="ColumnsOnRegisters512"/> runs here (AVX-512F: its 24 accumulators and 4 working registers need 32).</summary>
    public static bool StripsAreSupported => Avx512F.IsSupported;

    /// <summary>Tests and benchmarks only: run the sweeps of <see cref="Columns{TVector}"/> where the register strips would run.</summary>
    internal static bool UseSweepsForTests;

    // a: (K, ≥ 8) rows lda apart (columns past m are read but not stored)    b: (K, ≥ n1) rows ldb apart
    // c: (m, ≥ n1) rows ldc apart; columns [n0, n1), m ≤ Rows; sums: SumsLength floats of scratch
    /// <summary>
    /// <see cref="Columns{TVector}"/> at 16 floats with the partial sums in registers: for each block of
    /// <see cref="BlockColumns"/> columns and each panel of <see cref="PanelRows"/> rows of B, every strip of 48
    /// columns loads its 8 × 48 partial sums once, runs the panel's rows through them (per row of B: 3 loads, 8
    /// broadcasts of A, 24 multiply-adds) and stores them once, while it asks for the next strip's lines of the same rows.
    /// The sweeps instead load and store their sums every 4 rows of B and read those rows once per pair of C rows.
    /// Every element is the same chain of fused multiply-adds over k, in order, from zero: the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnsOnRegisters512(int k, int m, float* a, nint lda, float* b, nint ldb, float* c, nint ldc,
        int n0, int n1, bool accumulate, float* sums)
    {
        const int w = 16;
        int end = n0 + (n1 - n0) / w * w;
        for (int j0 = n0; j0 < end; j0 += BlockColumns)
        {
            int width = Math.Min(BlockColumns, end - j0);
            for (int p0 = 0; p0 < k; p0 += PanelRows)
            {
                int depth = Math.Min(PanelRows, k - p0);
                bool first = p0 == 0;
                float* panelA = a + p0 * lda, panelB = b + p0 * ldb + j0;
                int j = 0;
                for (; j + StripColumns <= width; j += StripColumns)
                    Strip3(depth, panelA, lda, panelB + j, ldb, sums + j, width, first);
                for (; j < width; j += w)
                    Strip1(depth, panelA, lda, panelB + j, ldb, sums + j, width, first);
            }
            ElementwiseKernels.StoreRows(sums, width, c + j0, ldc, m, width, accumulate);
        }
        ColumnTail(k, m, a, lda, b, ldb, c, ldc, end, n1, accumulate);
    }

    // a: A[p0.., 0..8] rows lda apart    b: B[p0.., j..j+48] rows ldb apart    s: (8, 48) of the sums, rows lds apart
    /// <summary>
    /// One strip of 48 columns over <paramref name="depth"/> rows of B: s[r, c] = (first ? 0 : s[r, c]) chained with
    /// a[p, r]·b[p, c] for p in order. Asks for the next strip's 48 columns of each row as it goes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip3(int depth, float* a, nint lda, float* b, nint ldb, float* s, nint lds, bool first)
    {
        Vector512<float> c00, c01, c02, c03, c04, c05, c06, c07; // columns 0–15, rows 0–7
        Vector512<float> c10, c11, c12, c13, c14, c15, c16, c17; // columns 16–31
        Vector512<float> c20, c21, c22, c23, c24, c25, c26, c27; // columns 32–47
        if (first)
        {
            c00 = c01 = c02 = c03 = c04 = c05 = c06 = c07 = default;
            c10 = c11 = c12 = c13 = c14 = c15 = c16 = c17 = default;
            c20 = c21 = c22 = c23 = c24 = c25 = c26 = c27 = default;
        }
        else
        {
            c00 = Vector512.Load(s); c10 = Vector512.Load(s + 16); c20 = Vector512.Load(s + 32);
            c01 = Vector512.Load(s + lds); c11 = Vector512.Load(s + lds + 16); c21 = Vector512.Load(s + lds + 32);
            c02 = Vector512.Load(s + 2 * lds); c12 = Vector512.Load(s + 2 * lds + 16); c22 = Vector512.Load(s + 2 * lds + 32);
            c03 = Vector512.Load(s + 3 * lds); c13 = Vector512.Load(s + 3 * lds + 16); c23 = Vector512.Load(s + 3 * lds + 32);
            c04 = Vector512.Load(s + 4 * lds); c14 = Vector512.Load(s + 4 * lds + 16); c24 = Vector512.Load(s + 4 * lds + 32);
            c05 = Vector512.Load(s + 5 * lds); c15 = Vector512.Load(s + 5 * lds + 16); c25 = Vector512.Load(s + 5 * lds + 32);
            c06 = Vector512.Load(s + 6 * lds); c16 = Vector512.Load(s + 6 * lds + 16); c26 = Vector512.Load(s + 6 * lds + 32);
            c07 = Vector512.Load(s + 7 * lds); c17 = Vector512.Load(s + 7 * lds + 16); c27 = Vector512.Load(s + 7 * lds + 32);
        }
        for (int p = 0; p < depth; p++, a += lda, b += ldb)
        {
            Sse.Prefetch0(b + StripColumns);
            Sse.Prefetch0(b + StripColumns + 16);
            Sse.Prefetch0(b + StripColumns + 32);
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var b2 = Vector512.Load(b + 32);
            var x = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c10 = Avx512F.FusedMultiplyAdd(x, b1, c10); c20 = Avx512F.FusedMultiplyAdd(x, b2, c20);
            x = Vector512.Create(a[1]);
            c01 = Avx512F.FusedMultiplyAdd(x, b0, c01); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11); c21 = Avx512F.FusedMultiplyAdd(x, b2, c21);
            x = Vector512.Create(a[2]);
            c02 = Avx512F.FusedMultiplyAdd(x, b0, c02); c12 = Avx512F.FusedMultiplyAdd(x, b1, c12); c22 = Avx512F.FusedMultiplyAdd(x, b2, c22);
            x = Vector512.Create(a[3]);
            c03 = Avx512F.FusedMultiplyAdd(x, b0, c03); c13 = Avx512F.FusedMultiplyAdd(x, b1, c13); c23 = Avx512F.FusedMultiplyAdd(x, b2, c23);
            x = Vector512.Create(a[4]);
            c04 = Avx512F.FusedMultiplyAdd(x, b0, c04); c14 = Avx512F.FusedMultiplyAdd(x, b1, c14); c24 = Avx512F.FusedMultiplyAdd(x, b2, c24);
            x = Vector512.Create(a[5]);
            c05 = Avx512F.FusedMultiplyAdd(x, b0, c05); c15 = Avx512F.FusedMultiplyAdd(x, b1, c15); c25 = Avx512F.FusedMultiplyAdd(x, b2, c25);
            x = Vector512.Create(a[6]);
            c06 = Avx512F.FusedMultiplyAdd(x, b0, c06); c16 = Avx512F.FusedMultiplyAdd(x, b1, c16); c26 = Avx512F.FusedMultiplyAdd(x, b2, c26);
            x = Vector512.Create(a[7]);
            c07 = Avx512F.FusedMultiplyAdd(x, b0, c07); c17 = Avx512F.FusedMultiplyAdd(x, b1, c17); c27 = Avx512F.FusedMultiplyAdd(x, b2, c27);
        }
        c00.Store(s); c10.Store(s + 16); c20.Store(s + 32);
        c01.Store(s + lds); c11.Store(s + lds + 16); c21.Store(s + lds + 32);
        c02.Store(s + 2 * lds); c12.Store(s + 2 * lds + 16); c22.Store(s + 2 * lds + 32);
        c03.Store(s + 3 * lds); c13.Store(s + 3 * lds + 16); c23.Store(s + 3 * lds + 32);
        c04.Store(s + 4 * lds); c14.Store(s + 4 * lds + 16); c24.Store(s + 4 * lds + 32);
        c05.Store(s + 5 * lds); c15.Store(s + 5 * lds + 16); c25.Store(s + 5 * lds + 32);
        c06.Store(s + 6 * lds); c16.Store(s + 6 * lds + 16); c26.Store(s + 6 * lds + 32);
        c07.Store(s + 7 * lds); c17.Store(s + 7 * lds + 16); c27.Store(s + 7 * lds + 32);
    }

    // a: A[p0.., 0..8] rows lda apart    b: B[p0.., j..j+16] rows ldb apart    s: (8, 16) of the sums, rows lds apart
    /// <summary><see cref="Strip3"/> for one register of columns (the last 16 or 32 of a block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip1(int depth, float* a, nint lda, float* b, nint ldb, float* s, nint lds, bool first)
    {
        Vector512<float> c0, c1, c2, c3, c4, c5, c6, c7;
        if (first) c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = default;
        else
        {
            c0 = Vector512.Load(s); c1 = Vector512.Load(s + lds); c2 = Vector512.Load(s + 2 * lds); c3 = Vector512.Load(s + 3 * lds);
            c4 = Vector512.Load(s + 4 * lds); c5 = Vector512.Load(s + 5 * lds); c6 = Vector512.Load(s + 6 * lds); c7 = Vector512.Load(s + 7 * lds);
        }
        for (int p = 0; p < depth; p++, a += lda, b += ldb)
        {
            var x = Vector512.Load(b);
            c0 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[0]), x, c0);
            c1 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[1]), x, c1);
            c2 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[2]), x, c2);
            c3 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[3]), x, c3);
            c4 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[4]), x, c4);
            c5 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[5]), x, c5);
            c6 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[6]), x, c6);
            c7 = Avx512F.FusedMultiplyAdd(Vector512.Create(a[7]), x, c7);
        }
        c0.Store(s); c1.Store(s + lds); c2.Store(s + 2 * lds); c3.Store(s + 3 * lds);
        c4.Store(s + 4 * lds); c5.Store(s + 5 * lds); c6.Store(s + 6 * lds); c7.Store(s + 7 * lds);
    }
}
