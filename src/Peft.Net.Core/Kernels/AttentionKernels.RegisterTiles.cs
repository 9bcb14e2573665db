using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

// The attention register tiles for 8-float registers (4 and 6 rows) on the FMA intrinsics and raw pointers. Through
// the generic IFloatVector wrapper the JIT copied every accumulator after its multiply-add and kept the row strides on
// the stack (about 30 instructions for 8 multiply-adds); here the inner loops are the loads, broadcasts and FMAs. Each
// accumulator gets the same fused multiply-adds in the same order as in the generic tiles, so the bits are the same (a
// 6-row tile's extra products are with the zeros past a row's mask). The softmax rows need nothing of their own: at 8
// floats the generic row's eˣ is already ExpPolynomial (FloatVector256.Exp), and its loop compiles tight.
internal static partial class AttentionKernels
{
    /// <summary>Tests only: run the generic tiles at 8 floats too, to compare their bits with the tiles below.</summary>
    internal static bool UseGenericTilesForTests;

    /// <summary>Whether the 8-float tiles below replace the generic ones for register type <typeparamref name="TV"/>.</summary>
    private static bool UsesAvx2Tiles<TV>() where TV : struct, IFloatVector<TV> =>
        typeof(TV) == typeof(FloatVector256) && Fma.IsSupported && !UseGenericTilesForTests;

    // a: 4 rows (D) lda apart    bt: (D, ≥ columns) packed, rows ldb apart    c: 4 rows (≥ columns) width apart
    /// <summary>ScorePanel's 4-row register tile: c[r, col] = alpha · Σ_d a[r, d]·bt[d, col] for col &lt; columns (a multiple of 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreRows4Avx2(float* a0, nint lda, float* bt, nint ldb, float* c, nint width, int columns,
        int depth, float alpha)
    {
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        var scale = Vector256.Create(alpha);
        for (nint col = 0; col < columns; col += 16)
        {
            Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default;
            Vector256<float> s20 = default, s21 = default, s30 = default, s31 = default;
            float* bd = bt + col; // row d of the panel
            for (nint d = 0; d < depth; d++, bd += ldb)
            {
                var x0 = Vector256.Load(bd);
                var x1 = Vector256.Load(bd + 8);
                var y = Vector256.Create(a0[d]);
                s00 = Fma.MultiplyAdd(y, x0, s00);
                s01 = Fma.MultiplyAdd(y, x1, s01);
                y = Vector256.Create(a1[d]);
                s10 = Fma.MultiplyAdd(y, x0, s10);
                s11 = Fma.MultiplyAdd(y, x1, s11);
                y = Vector256.Create(a2[d]);
                s20 = Fma.MultiplyAdd(y, x0, s20);
                s21 = Fma.MultiplyAdd(y, x1, s21);
                y = Vector256.Create(a3[d]);
                s30 = Fma.MultiplyAdd(y, x0, s30);
                s31 = Fma.MultiplyAdd(y, x1, s31);
            }
            float* cc = c + col;
            (s00 * scale).Store(cc);
            (s01 * scale).Store(cc + 8);
            (s10 * scale).Store(cc + width);
            (s11 * scale).Store(cc + width + 8);
            (s20 * scale).Store(cc + 2 * width);
            (s21 * scale).Store(cc + 2 * width + 8);
            (s30 * scale).Store(cc + 3 * width);
            (s31 * scale).Store(cc + 3 * width + 8);
        }
    }

    // a: 6 rows (D) lda apart    bt: (D, ≥ columns) packed, rows ldb apart    c: 6 rows (≥ columns) width apart
    /// <summary><see cref="ScoreRows4Avx2"/> for 6 rows: 12 accumulators, as the GEMM micro-kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreRows6Avx2(float* a0, nint lda, float* bt, nint ldb, float* c, nint width, int columns,
        int depth, float alpha)
    {
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        var scale = Vector256.Create(alpha);
        for (nint col = 0; col < columns; col += 16)
        {
            Vector256<float> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default;
            Vector256<float> s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
            float* bd = bt + col; // row d of the panel
            for (nint d = 0; d < depth; d++, bd += ldb)
            {
                var x0 = Vector256.Load(bd);
                var x1 = Vector256.Load(bd + 8);
                var y = Vector256.Create(a0[d]);
                s00 = Fma.MultiplyAdd(y, x0, s00);
                s01 = Fma.MultiplyAdd(y, x1, s01);
                y = Vector256.Create(a1[d]);
                s10 = Fma.MultiplyAdd(y, x0, s10);
                s11 = Fma.MultiplyAdd(y, x1, s11);
                y = Vector256.Create(a2[d]);
                s20 = Fma.MultiplyAdd(y, x0, s20);
                s21 = Fma.MultiplyAdd(y, x1, s21);
                y = Vector256.Create(a3[d]);
                s30 = Fma.MultiplyAdd(y, x0, s30);
                s31 = Fma.MultiplyAdd(y, x1, s31);
                y = Vector256.Create(a4[d]);
                s40 = Fma.MultiplyAdd(y, x0, s40);
                s41 = Fma.MultiplyAdd(y, x1, s41);
                y = Vector256.Create(a5[d]);
                s50 = Fma.MultiplyAdd(y, x0, s50);
                s51 = Fma.MultiplyAdd(y, x1, s51);
            }
            float* cc = c + col;
            (s00 * scale).Store(cc);
            (s01 * scale).Store(cc + 8);
            (s10 * scale).Store(cc + width);
            (s11 * scale).Store(cc + width + 8);
            (s20 * scale).Store(cc + 2 * width);
            (s21 * scale).Store(cc + 2 * width + 8);
            (s30 * scale).Store(cc + 3 * width);
            (s31 * scale).Store(cc + 3 * width + 8);
            (s40 * scale).Store(cc + 4 * width);
            (s41 * scale).Store(cc + 4 * width + 8);
            (s50 * scale).Store(cc + 5 * width);
            (s51 * scale).Store(cc + 5 * width + 8);
        }
    }

    // o: 4 rows (D) ldo apart    a: element (r, j) at a[r·ars + j·acs]    x: rows (D) ldx apart; depth a multiple of 16
    /// <summary>AccumulateRows4 for D a multiple of 16: o[r, :] += Σ_{start ≤ j &lt; end} a[r, j]·x[j, :], 4 rows × 16 columns a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows4Avx2(float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
    {
        float* o1 = o + ldo, o2 = o1 + ldo, o3 = o2 + ldo;
        nint ars2 = 2 * ars, ars3 = 3 * ars;
        for (nint d = 0; d < depth; d += 16)
        {
            var r00 = Vector256.Load(o + d);
            var r01 = Vector256.Load(o + d + 8);
            var r10 = Vector256.Load(o1 + d);
            var r11 = Vector256.Load(o1 + d + 8);
            var r20 = Vector256.Load(o2 + d);
            var r21 = Vector256.Load(o2 + d + 8);
            var r30 = Vector256.Load(o3 + d);
            var r31 = Vector256.Load(o3 + d + 8);
            float* xr = x + start * ldx + d; // row j of x at column d
            float* aj = a + start * acs;     // element (0, j) of a
            for (nint j = start; j < end; j++, xr += ldx, aj += acs)
            {
                var x0 = Vector256.Load(xr);
                var x1 = Vector256.Load(xr + 8);
                var y = Vector256.Create(aj[0]);
                r00 = Fma.MultiplyAdd(y, x0, r00);
                r01 = Fma.MultiplyAdd(y, x1, r01);
                y = Vector256.Create(aj[ars]);
                r10 = Fma.MultiplyAdd(y, x0, r10);
                r11 = Fma.MultiplyAdd(y, x1, r11);
                y = Vector256.Create(aj[ars2]);
                r20 = Fma.MultiplyAdd(y, x0, r20);
                r21 = Fma.MultiplyAdd(y, x1, r21);
                y = Vector256.Create(aj[ars3]);
                r30 = Fma.MultiplyAdd(y, x0, r30);
                r31 = Fma.MultiplyAdd(y, x1, r31);
            }
            r00.Store(o + d);
            r01.Store(o + d + 8);
            r10.Store(o1 + d);
            r11.Store(o1 + d + 8);
            r20.Store(o2 + d);
            r21.Store(o2 + d + 8);
            r30.Store(o3 + d);
            r31.Store(o3 + d + 8);
        }
    }

    // o: 6 rows (D) ldo apart    a: element (r, j) at a[r·ars + j·acs]    x: rows (D) ldx apart; depth a multiple of 16
    /// <summary>
    /// <see cref="AccumulateRows4Avx2"/> for 6 rows: 12 accumulators, as the GEMM micro-kernel, so the fused multiply-add
    /// latency is hidden with room to spare (8 chains only just cover it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows6Avx2(float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
    {
        float* o1 = o + ldo, o2 = o1 + ldo, o3 = o2 + ldo, o4 = o3 + ldo, o5 = o4 + ldo;
        nint ars2 = 2 * ars, count = end - start; // rows 3–5 of a through a second pointer: fewer live strides
        for (nint d = 0; d < depth; d += 16)
        {
            var r00 = Vector256.Load(o + d);
            var r01 = Vector256.Load(o + d + 8);
            var r10 = Vector256.Load(o1 + d);
            var r11 = Vector256.Load(o1 + d + 8);
            var r20 = Vector256.Load(o2 + d);
            var r21 = Vector256.Load(o2 + d + 8);
            var r30 = Vector256.Load(o3 + d);
            var r31 = Vector256.Load(o3 + d + 8);
            var r40 = Vector256.Load(o4 + d);
            var r41 = Vector256.Load(o4 + d + 8);
            var r50 = Vector256.Load(o5 + d);
            var r51 = Vector256.Load(o5 + d + 8);
            float* xr = x + start * ldx + d; // row j of x at column d
            float* aj = a + start * acs;     // element (0, j) of a
            float* aj3 = aj + 3 * ars;        // element (3, j)
            for (nint j = count; j > 0; j--, xr += ldx, aj += acs, aj3 += acs)
            {
                var x0 = Vector256.Load(xr);
                var x1 = Vector256.Load(xr + 8);
                var y = Vector256.Create(aj[0]);
                r00 = Fma.MultiplyAdd(y, x0, r00);
                r01 = Fma.MultiplyAdd(y, x1, r01);
                y = Vector256.Create(aj[ars]);
                r10 = Fma.MultiplyAdd(y, x0, r10);
                r11 = Fma.MultiplyAdd(y, x1, r11);
                y = Vector256.Create(aj[ars2]);
                r20 = Fma.MultiplyAdd(y, x0, r20);
                r21 = Fma.MultiplyAdd(y, x1, r21);
                y = Vector256.Create(aj3[0]);
                r30 = Fma.MultiplyAdd(y, x0, r30);
                r31 = Fma.MultiplyAdd(y, x1, r31);
                y = Vector256.Create(aj3[ars]);
                r40 = Fma.MultiplyAdd(y, x0, r40);
                r41 = Fma.MultiplyAdd(y, x1, r41);
                y = Vector256.Create(aj3[ars2]);
                r50 = Fma.MultiplyAdd(y, x0, r50);
                r51 = Fma.MultiplyAdd(y, x1, r51);
            }
            r00.Store(o + d);
            r01.Store(o + d + 8);
            r10.Store(o1 + d);
            r11.Store(o1 + d + 8);
            r20.Store(o2 + d);
            r21.Store(o2 + d + 8);
            r30.Store(o3 + d);
            r31.Store(o3 + d + 8);
            r40.Store(o4 + d);
            r41.Store(o4 + d + 8);
            r50.Store(o5 + d);
            r51.Store(o5 + d + 8);
        }
    }
}
