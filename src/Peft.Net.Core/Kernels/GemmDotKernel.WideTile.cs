using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class GemmDotKernel
{
    /// <summary>Rows of Bᵀ (columns of C) per <see cref="WideTile512"/>: a rank-8 LoRA factor in one tile.</summary>
    public const int WideColumns = 8;

    /// <summary>Whether <see cref="WideTile512"/> runs here (AVX-512F: its 16 accumulators and 3 working registers need 32).</summary>
    public static bool WideTileIsSupported => Avx512F.IsSupported;

    /// <summary>Tests and benchmarks only: run pairs of 2×4 tiles where the 2×8 tile would run, to compare bits and speed.</summary>
    internal static bool UseNarrowTilesForTests;

    /// <summary>Rectangles that ran on <see cref="WideTile512"/> so far (once per rectangle): tests check the path ran.</summary>
    internal static long WideTileRuns;

    // a: (≥ rows, K) stride lda    bt: (8, K) stride ldb    c: (rows, 8) stride ldc; rows 1 or 2
    /// <summary>
    /// Two <see cref="Tile{TVector}"/>s at 16 floats side by side (columns 0–3 and 4–7) in one pass: each row of A is
    /// loaded once for all eight rows of Bᵀ, 16 multiply-adds per 10 loads instead of 8 per 6. The 16 sums are reduced
    /// together (<see cref="SumSixteen"/>) in the tree <c>Vector512.Sum</c> uses for each, and the K tail and store are
    /// <see cref="FinishTile"/>'s: the bits of the two narrow tiles (a test compares them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WideTile512(int k, float* a, nint lda, float* bt, nint ldb, float* c, nint ldc, int rows, bool accumulate)
    {
        float* a0 = a, a1 = a + (rows > 1 ? lda : 0);
        float* b0 = bt, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb, b4 = b3 + ldb, b5 = b4 + ldb, b6 = b5 + ldb, b7 = b6 + ldb;
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s04 = default, s05 = default, s06 = default, s07 = default;
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default, s14 = default, s15 = default, s16 = default, s17 = default;
        nint p = 0;
        for (; p <= k - 16; p += 16)
        {
            var x0 = Vector512.Load(a0 + p);
            var x1 = Vector512.Load(a1 + p);
            var y = Vector512.Load(b0 + p);
            s00 = Avx512F.FusedMultiplyAdd(x0, y, s00);
            s10 = Avx512F.FusedMultiplyAdd(x1, y, s10);
            y = Vector512.Load(b1 + p);
            s01 = Avx512F.FusedMultiplyAdd(x0, y, s01);
            s11 = Avx512F.FusedMultiplyAdd(x1, y, s11);
            y = Vector512.Load(b2 + p);
            s02 = Avx512F.FusedMultiplyAdd(x0, y, s02);
            s12 = Avx512F.FusedMultiplyAdd(x1, y, s12);
            y = Vector512.Load(b3 + p);
            s03 = Avx512F.FusedMultiplyAdd(x0, y, s03);
            s13 = Avx512F.FusedMultiplyAdd(x1, y, s13);
            y = Vector512.Load(b4 + p);
            s04 = Avx512F.FusedMultiplyAdd(x0, y, s04);
            s14 = Avx512F.FusedMultiplyAdd(x1, y, s14);
            y = Vector512.Load(b5 + p);
            s05 = Avx512F.FusedMultiplyAdd(x0, y, s05);
            s15 = Avx512F.FusedMultiplyAdd(x1, y, s15);
            y = Vector512.Load(b6 + p);
            s06 = Avx512F.FusedMultiplyAdd(x0, y, s06);
            s16 = Avx512F.FusedMultiplyAdd(x1, y, s16);
            y = Vector512.Load(b7 + p);
            s07 = Avx512F.FusedMultiplyAdd(x0, y, s07);
            s17 = Avx512F.FusedMultiplyAdd(x1, y, s17);
        }
        // (2, 4) sums of columns 0–3, then (2, 4) of columns 4–7: the layout FinishTile reads
        var sums = SumSixteen(SumFourPerLane(s00, s01, s02, s03), SumFourPerLane(s10, s11, s12, s13),
            SumFourPerLane(s04, s05, s06, s07), SumFourPerLane(s14, s15, s16, s17));
        float* all = stackalloc float[16];
        sums.Store(all);
        FinishTile(new Span<float>(all, 8), (int)p, k, a0, a1, b0, b1, b2, b3, c, ldc, rows, Columns, accumulate);
        FinishTile(new Span<float>(all + 8, 8), (int)p, k, a0, a1, b4, b5, b6, b7, c + Columns, ldc, rows, Columns, accumulate);
    }

    // a, b, c, d: 16 floats each → per 128-bit lane ℓ: ((v0 + v1) + (v2 + v3)) of that lane of a, b, c and d
    /// <summary>
    /// The first two levels of <c>Vector512.Sum</c>'s tree for four registers at once: within each 128-bit lane,
    /// adjacent pairs, then the two pair sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> SumFourPerLane(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        const byte evens = 0b10_00_10_00, odds = 0b11_01_11_01;
        var ab = Avx512F.Shuffle(a, b, evens) + Avx512F.Shuffle(a, b, odds); // lane: a0+a1, a2+a3, b0+b1, b2+b3
        var cd = Avx512F.Shuffle(c, d, evens) + Avx512F.Shuffle(c, d, odds);
        return Avx512F.Shuffle(ab, cd, evens) + Avx512F.Shuffle(ab, cd, odds); // lane: a, b, c, d
    }

    // w, x, y, z: SumFourPerLane results (lanes L0..L3) → 16 sums: w's four, x's four, y's four, z's four
    /// <summary>
    /// The last two levels of <c>Vector512.Sum</c>'s tree: (L0 + L1) + (L2 + L3) of every value, the lower half's sum
    /// plus the upper half's, so each of the 16 results has the bits <c>Vector512.Sum</c> gives its register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> SumSixteen(Vector512<float> w, Vector512<float> x, Vector512<float> y, Vector512<float> z)
    {
        const byte evens = 0b10_00_10_00, odds = 0b11_01_11_01;
        var wx = Avx512F.Shuffle4x128(w, x, evens) + Avx512F.Shuffle4x128(w, x, odds); // w.L0+L1, w.L2+L3, x.L0+L1, x.L2+L3
        var yz = Avx512F.Shuffle4x128(y, z, evens) + Avx512F.Shuffle4x128(y, z, odds);
        return Avx512F.Shuffle4x128(wx, yz, evens) + Avx512F.Shuffle4x128(wx, yz, odds);
    }
}
