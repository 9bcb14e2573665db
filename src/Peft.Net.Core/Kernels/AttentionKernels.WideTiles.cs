using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

// The 6-row attention tiles four registers wide for AVX-512 (24 accumulators of the 32 registers, as the GEMM's 12×32
// micro-kernel): a row of a 64-dimension head (or 64 score columns) is one pass, where the two-register tiles make two,
// and each broadcast value feeds four multiply-adds instead of two, so a multiply-add needs 0.42 loads instead of 0.67.
// Every accumulator gets the same fused multiply-adds in the same order as in the two-register tiles, so the bits are
// the same; what is left past a multiple of four registers goes to the two-register tiles.
internal static partial class AttentionKernels
{
    /// <summary>Tests and benchmarks only: run the two-register tiles where the four-register ones would run.</summary>
    internal static bool UseNarrowTilesForTests;

    /// <summary>Whether the four-register tiles run here (AVX-512F), for register type <typeparamref name="TV"/>.</summary>
    private static bool UsesWideTiles<TV>() => typeof(TV) == typeof(Simd.FloatVector512) && WideTilesRun;

    /// <summary>Whether the four-register tiles run on this machine (AVX-512F, not switched off for tests).</summary>
    internal static bool WideTilesRun => Avx512F.IsSupported && !UseNarrowTilesForTests;

    // a: 6 rows (D) lda apart    bt: (D, ≥ columns) packed, rows ldb apart    c: 6 rows (≥ columns) width apart
    /// <summary>ScoreRows6 with 64 columns a pass (four registers), then the two-register tile for the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreRows6Wide(float* a0, nint lda, float* bt, nint ldb, float* c, nint width, int columns,
        int depth, float alpha)
    {
        const int w = 16;
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        var scale = Vector512.Create(alpha);
        int col = 0;
        for (; col + 4 * w <= columns; col += 4 * w)
        {
            Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
            Vector512<float> s40 = default, s41 = default, s42 = default, s43 = default;
            Vector512<float> s50 = default, s51 = default, s52 = default, s53 = default;
            float* bd = bt + col; // row d of the panel
            for (nint d = 0; d < depth; d++, bd += ldb)
            {
                var x0 = Vector512.Load(bd);
                var x1 = Vector512.Load(bd + w);
                var x2 = Vector512.Load(bd + 2 * w);
                var x3 = Vector512.Load(bd + 3 * w);
                var y = Vector512.Create(a0[d]);
                s00 = Vector512.FusedMultiplyAdd(y, x0, s00); s01 = Vector512.FusedMultiplyAdd(y, x1, s01);
                s02 = Vector512.FusedMultiplyAdd(y, x2, s02); s03 = Vector512.FusedMultiplyAdd(y, x3, s03);
                y = Vector512.Create(a1[d]);
                s10 = Vector512.FusedMultiplyAdd(y, x0, s10); s11 = Vector512.FusedMultiplyAdd(y, x1, s11);
                s12 = Vector512.FusedMultiplyAdd(y, x2, s12); s13 = Vector512.FusedMultiplyAdd(y, x3, s13);
                y = Vector512.Create(a2[d]);
                s20 = Vector512.FusedMultiplyAdd(y, x0, s20); s21 = Vector512.FusedMultiplyAdd(y, x1, s21);
                s22 = Vector512.FusedMultiplyAdd(y, x2, s22); s23 = Vector512.FusedMultiplyAdd(y, x3, s23);
                y = Vector512.Create(a3[d]);
                s30 = Vector512.FusedMultiplyAdd(y, x0, s30); s31 = Vector512.FusedMultiplyAdd(y, x1, s31);
                s32 = Vector512.FusedMultiplyAdd(y, x2, s32); s33 = Vector512.FusedMultiplyAdd(y, x3, s33);
                y = Vector512.Create(a4[d]);
                s40 = Vector512.FusedMultiplyAdd(y, x0, s40); s41 = Vector512.FusedMultiplyAdd(y, x1, s41);
                s42 = Vector512.FusedMultiplyAdd(y, x2, s42); s43 = Vector512.FusedMultiplyAdd(y, x3, s43);
                y = Vector512.Create(a5[d]);
                s50 = Vector512.FusedMultiplyAdd(y, x0, s50); s51 = Vector512.FusedMultiplyAdd(y, x1, s51);
                s52 = Vector512.FusedMultiplyAdd(y, x2, s52); s53 = Vector512.FusedMultiplyAdd(y, x3, s53);
            }
            float* cc = c + col;
            StoreScaled(cc, s00, s01, s02, s03, scale);
            StoreScaled(cc + width, s10, s11, s12, s13, scale);
            StoreScaled(cc + 2 * width, s20, s21, s22, s23, scale);
            StoreScaled(cc + 3 * width, s30, s31, s32, s33, scale);
            StoreScaled(cc + 4 * width, s40, s41, s42, s43, scale);
            StoreScaled(cc + 5 * width, s50, s51, s52, s53, scale);
        }
        if (col < columns)
            ScoreRows6<Vector512<float>, Simd.Fma512>(a0 + 0, lda, bt + col, ldb, c + col, width, columns - col, depth, alpha);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreScaled(float* row, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2,
        Vector512<float> v3, Vector512<float> scale)
    {
        (v0 * scale).Store(row);
        (v1 * scale).Store(row + 16);
        (v2 * scale).Store(row + 32);
        (v3 * scale).Store(row + 48);
    }

    // o: 6 rows (D) ldo apart    a: element (r, j) at a[r·ars + j·acs]    x: rows (D) ldx apart; depth a multiple of 2W
    /// <summary>AccumulateRows6 with 64 floats of D a pass (four registers), then the two-register tile for the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows6Wide(float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
    {
        const int w = 16;
        float* o1 = o + ldo, o2 = o1 + ldo, o3 = o2 + ldo, o4 = o3 + ldo, o5 = o4 + ldo;
        nint ars2 = 2 * ars, count = end - start; // rows 3–5 of a through a second pointer: fewer live strides
        int d = 0;
        for (; d + 4 * w <= depth; d += 4 * w)
        {
            var r00 = Vector512.Load(o + d); var r01 = Vector512.Load(o + d + w);
            var r02 = Vector512.Load(o + d + 2 * w); var r03 = Vector512.Load(o + d + 3 * w);
            var r10 = Vector512.Load(o1 + d); var r11 = Vector512.Load(o1 + d + w);
            var r12 = Vector512.Load(o1 + d + 2 * w); var r13 = Vector512.Load(o1 + d + 3 * w);
            var r20 = Vector512.Load(o2 + d); var r21 = Vector512.Load(o2 + d + w);
            var r22 = Vector512.Load(o2 + d + 2 * w); var r23 = Vector512.Load(o2 + d + 3 * w);
            var r30 = Vector512.Load(o3 + d); var r31 = Vector512.Load(o3 + d + w);
            var r32 = Vector512.Load(o3 + d + 2 * w); var r33 = Vector512.Load(o3 + d + 3 * w);
            var r40 = Vector512.Load(o4 + d); var r41 = Vector512.Load(o4 + d + w);
            var r42 = Vector512.Load(o4 + d + 2 * w); var r43 = Vector512.Load(o4 + d + 3 * w);
            var r50 = Vector512.Load(o5 + d); var r51 = Vector512.Load(o5 + d + w);
            var r52 = Vector512.Load(o5 + d + 2 * w); var r53 = Vector512.Load(o5 + d + 3 * w);
            float* xr = x + start * ldx + d; // row j of x at column d
            float* aj = a + start * acs;     // element (0, j) of a
            float* aj3 = aj + 3 * ars;       // element (3, j)
            for (nint j = count; j > 0; j--, xr += ldx, aj += acs, aj3 += acs)
            {
                var x0 = Vector512.Load(xr);
                var x1 = Vector512.Load(xr + w);
                var x2 = Vector512.Load(xr + 2 * w);
                var x3 = Vector512.Load(xr + 3 * w);
                var y = Vector512.Create(aj[0]);
                r00 = Vector512.FusedMultiplyAdd(y, x0, r00); r01 = Vector512.FusedMultiplyAdd(y, x1, r01);
                r02 = Vector512.FusedMultiplyAdd(y, x2, r02); r03 = Vector512.FusedMultiplyAdd(y, x3, r03);
                y = Vector512.Create(aj[ars]);
                r10 = Vector512.FusedMultiplyAdd(y, x0, r10); r11 = Vector512.FusedMultiplyAdd(y, x1, r11);
                r12 = Vector512.FusedMultiplyAdd(y, x2, r12); r13 = Vector512.FusedMultiplyAdd(y, x3, r13);
                y = Vector512.Create(aj[ars2]);
                r20 = Vector512.FusedMultiplyAdd(y, x0, r20); r21 = Vector512.FusedMultiplyAdd(y, x1, r21);
                r22 = Vector512.FusedMultiplyAdd(y, x2, r22); r23 = Vector512.FusedMultiplyAdd(y, x3, r23);
                y = Vector512.Create(aj3[0]);
                r30 = Vector512.FusedMultiplyAdd(y, x0, r30); r31 = Vector512.FusedMultiplyAdd(y, x1, r31);
                r32 = Vector512.FusedMultiplyAdd(y, x2, r32); r33 = Vector512.FusedMultiplyAdd(y, x3, r33);
                y = Vector512.Create(aj3[ars]);
                r40 = Vector512.FusedMultiplyAdd(y, x0, r40); r41 = Vector512.FusedMultiplyAdd(y, x1, r41);
                r42 = Vector512.FusedMultiplyAdd(y, x2, r42); r43 = Vector512.FusedMultiplyAdd(y, x3, r43);
                y = Vector512.Create(aj3[ars2]);
                r50 = Vector512.FusedMultiplyAdd(y, x0, r50); r51 = Vector512.FusedMultiplyAdd(y, x1, r51);
                r52 = Vector512.FusedMultiplyAdd(y, x2, r52); r53 = Vector512.FusedMultiplyAdd(y, x3, r53);
            }
            StoreFour(o + d, r00, r01, r02, r03);
            StoreFour(o1 + d, r10, r11, r12, r13);
            StoreFour(o2 + d, r20, r21, r22, r23);
            StoreFour(o3 + d, r30, r31, r32, r33);
            StoreFour(o4 + d, r40, r41, r42, r43);
            StoreFour(o5 + d, r50, r51, r52, r53);
        }
        if (d < depth)
            AccumulateRows6<Vector512<float>, Simd.Fma512>(o + d, ldo, a, ars, acs, x + d, ldx, start, end, depth - d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreFour(float* row, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        v0.Store(row);
        v1.Store(row + 16);
        v2.Store(row + 32);
        v3.Store(row + 48);
    }
}
