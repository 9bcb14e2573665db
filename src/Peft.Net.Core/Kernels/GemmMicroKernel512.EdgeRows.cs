using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels;

// The last row panel of a product whose rows are not a multiple of 12 (1,024 tokens leave 4): the rows it has, in 4 or
// 8 rows of accumulators, stored straight into C, where the full kernel would compute 12 rows into a scratch tile and
// copy the valid ones out. Each element gets the full kernel's multiply-adds in the same order: the same bits.
internal readonly unsafe partial struct GemmMicroKernel512
{
    /// <summary>Tests and benchmarks only: run short row panels through the full kernel and a scratch tile.</summary>
    internal static bool UseFullTileForEdgeRowsForTests;

    /// <summary>Whether a panel of <paramref name="rows"/> rows (fewer than 12) runs <see cref="RunEdgeRows"/>.</summary>
    internal static bool RunsEdgeRows(int rows) => rows <= 8 && !UseFullTileForEdgeRowsForTests;

    // a: packed (KC, 12), rows ≥ `rows` zero    b: packed (KC, 32)    c: (rows, 32) with row stride ldc; rows ≤ 8
    /// <summary>c[r, j] (+)= Σ_p a[p·12 + r]·b[p·32 + j] for the first <paramref name="rows"/> (at most 8) rows of a panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunEdgeRows(int rows, int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        if (rows <= 4) RunFourRows(rows, kc, a, b, c, ldc, accumulate);
        else RunEightRows(rows, kc, a, b, c, ldc, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunFourRows(int rows, int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            var a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            var a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            var a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            var a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            a += 12;
            b += 32;
        }
        StoreRow(c, c0_0, c0_1, accumulate);
        if (rows > 1) StoreRow(c + ldc, c1_0, c1_1, accumulate);
        if (rows > 2) StoreRow(c + 2 * ldc, c2_0, c2_1, accumulate);
        if (rows > 3) StoreRow(c + 3 * ldc, c3_0, c3_1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunEightRows(int rows, int kc, float* a, float* b, float* c, nint ldc, bool accumulate)
    {
        Vector512<float> c0_0 = default, c0_1 = default, c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default, c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default, c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default, c7_0 = default, c7_1 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            var a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            var a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            var a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            var a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            var a4 = Vector512.Create(a[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            var a5 = Vector512.Create(a[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            var a6 = Vector512.Create(a[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            var a7 = Vector512.Create(a[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            a += 12;
            b += 32;
        }
        StoreRow(c, c0_0, c0_1, accumulate);
        StoreRow(c + ldc, c1_0, c1_1, accumulate);
        StoreRow(c + 2 * ldc, c2_0, c2_1, accumulate);
        StoreRow(c + 3 * ldc, c3_0, c3_1, accumulate);
        StoreRow(c + 4 * ldc, c4_0, c4_1, accumulate);
        if (rows > 5) StoreRow(c + 5 * ldc, c5_0, c5_1, accumulate);
        if (rows > 6) StoreRow(c + 6 * ldc, c6_0, c6_1, accumulate);
        if (rows > 7) StoreRow(c + 7 * ldc, c7_0, c7_1, accumulate);
    }
}
