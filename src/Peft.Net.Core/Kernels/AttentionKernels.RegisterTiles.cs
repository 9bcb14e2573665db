using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

// The attention register tiles (4 and 6 rows × two registers of columns) on raw hardware registers and pointers,
// written once for 8-float (AVX + FMA) and 16-float (AVX-512) registers through IFmaRegister. Through the generic
// IFloatVector wrapper the JIT copied every accumulator after its multiply-add and kept the row strides on the stack
// (about 30 instructions for 8 multiply-adds); here the inner loops are the loads, broadcasts and FMAs. Each
// accumulator gets the same fused multiply-adds in the same order as in the generic tiles, so the bits are the same (a
// 6-row tile's extra products are with the zeros past a row's mask).
internal static partial class AttentionKernels
{
    /// <summary>Tests only: run the generic tiles at every width, to compare their bits with the register tiles below.</summary>
    internal static bool UseGenericTilesForTests;

    /// <summary>Whether the register tiles below replace the generic ones for register type <typeparamref name="TV"/>.</summary>
    private static bool UsesRegisterTiles<TV>() where TV : struct, IFloatVector<TV> =>
        !UseGenericTilesForTests && FmaRegisters.Cover<TV>();

    // ---- dispatch from the generic kernels (TV is FloatVector256 or FloatVector512 when UsesRegisterTiles<TV>) ----

    private static unsafe void ScoreRows<TV>(int rows, float* a0, nint lda, float* bt, nint ldb, float* c, nint width,
        int columns, int depth, float alpha)
        where TV : struct, IFloatVector<TV>
    {
        if (typeof(TV) == typeof(FloatVector256))
        {
            if (rows == 6) ScoreRows6<Vector256<float>, Fma256>(a0, lda, bt, ldb, c, width, columns, depth, alpha);
            else ScoreRows4<Vector256<float>, Fma256>(a0, lda, bt, ldb, c, width, columns, depth, alpha);
        }
        else
        {
            if (rows == 6 && UsesWideTiles<TV>()) ScoreRows6Wide(a0, lda, bt, ldb, c, width, columns, depth, alpha);
            else if (rows == 6) ScoreRows6<Vector512<float>, Fma512>(a0, lda, bt, ldb, c, width, columns, depth, alpha);
            else ScoreRows4<Vector512<float>, Fma512>(a0, lda, bt, ldb, c, width, columns, depth, alpha);
        }
    }

    private static unsafe void AccumulateRows<TV>(int rows, float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
        where TV : struct, IFloatVector<TV>
    {
        if (typeof(TV) == typeof(FloatVector256))
        {
            if (rows == 6) AccumulateRows6<Vector256<float>, Fma256>(o, ldo, a, ars, acs, x, ldx, start, end, depth);
            else AccumulateRows4<Vector256<float>, Fma256>(o, ldo, a, ars, acs, x, ldx, start, end, depth);
        }
        else
        {
            if (rows == 6 && UsesWideTiles<TV>()) AccumulateRows6Wide(o, ldo, a, ars, acs, x, ldx, start, end, depth);
            else if (rows == 6) AccumulateRows6<Vector512<float>, Fma512>(o, ldo, a, ars, acs, x, ldx, start, end, depth);
            else AccumulateRows4<Vector512<float>, Fma512>(o, ldo, a, ars, acs, x, ldx, start, end, depth);
        }
    }

    // a: 4 rows (D) lda apart    bt: (D, ≥ columns) packed, rows ldb apart    c: 4 rows (≥ columns) width apart
    /// <summary>ScorePanel's 4-row register tile: c[r, col] = alpha · Σ_d a[r, d]·bt[d, col] for col &lt; columns (a multiple of 2W).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreRows4<TReg, TOps>(float* a0, nint lda, float* bt, nint ldb, float* c, nint width, int columns,
        int depth, float alpha)
        where TReg : struct
        where TOps : struct, IFmaRegister<TReg>
    {
        nint w = TOps.Count;
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        var scale = TOps.Broadcast(alpha);
        for (nint col = 0; col < columns; col += 2 * w)
        {
            TReg s00 = default, s01 = default, s10 = default, s11 = default;
            TReg s20 = default, s21 = default, s30 = default, s31 = default;
            float* bd = bt + col; // row d of the panel
            for (nint d = 0; d < depth; d++, bd += ldb)
            {
                var x0 = TOps.Load(bd);
                var x1 = TOps.Load(bd + w);
                var y = TOps.Broadcast(a0[d]);
                s00 = TOps.MultiplyAdd(y, x0, s00);
                s01 = TOps.MultiplyAdd(y, x1, s01);
                y = TOps.Broadcast(a1[d]);
                s10 = TOps.MultiplyAdd(y, x0, s10);
                s11 = TOps.MultiplyAdd(y, x1, s11);
                y = TOps.Broadcast(a2[d]);
                s20 = TOps.MultiplyAdd(y, x0, s20);
                s21 = TOps.MultiplyAdd(y, x1, s21);
                y = TOps.Broadcast(a3[d]);
                s30 = TOps.MultiplyAdd(y, x0, s30);
                s31 = TOps.MultiplyAdd(y, x1, s31);
            }
            float* cc = c + col;
            TOps.Store(TOps.Multiply(s00, scale), cc);
            TOps.Store(TOps.Multiply(s01, scale), cc + w);
            TOps.Store(TOps.Multiply(s10, scale), cc + width);
            TOps.Store(TOps.Multiply(s11, scale), cc + width + w);
            TOps.Store(TOps.Multiply(s20, scale), cc + 2 * width);
            TOps.Store(TOps.Multiply(s21, scale), cc + 2 * width + w);
            TOps.Store(TOps.Multiply(s30, scale), cc + 3 * width);
            TOps.Store(TOps.Multiply(s31, scale), cc + 3 * width + w);
        }
    }

    // a: 6 rows (D) lda apart    bt: (D, ≥ columns) packed, rows ldb apart    c: 6 rows (≥ columns) width apart
    /// <summary><see cref="ScoreRows4{TReg, TOps}"/> for 6 rows: 12 accumulators, as the 8-float GEMM micro-kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ScoreRows6<TReg, TOps>(float* a0, nint lda, float* bt, nint ldb, float* c, nint width, int columns,
        int depth, float alpha)
        where TReg : struct
        where TOps : struct, IFmaRegister<TReg>
    {
        nint w = TOps.Count;
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        var scale = TOps.Broadcast(alpha);
        for (nint col = 0; col < columns; col += 2 * w)
        {
            TReg s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default;
            TReg s30 = default, s31 = default, s40 = default, s41 = default, s50 = default, s51 = default;
            float* bd = bt + col; // row d of the panel
            for (nint d = 0; d < depth; d++, bd += ldb)
            {
                var x0 = TOps.Load(bd);
                var x1 = TOps.Load(bd + w);
                var y = TOps.Broadcast(a0[d]);
                s00 = TOps.MultiplyAdd(y, x0, s00);
                s01 = TOps.MultiplyAdd(y, x1, s01);
                y = TOps.Broadcast(a1[d]);
                s10 = TOps.MultiplyAdd(y, x0, s10);
                s11 = TOps.MultiplyAdd(y, x1, s11);
                y = TOps.Broadcast(a2[d]);
                s20 = TOps.MultiplyAdd(y, x0, s20);
                s21 = TOps.MultiplyAdd(y, x1, s21);
                y = TOps.Broadcast(a3[d]);
                s30 = TOps.MultiplyAdd(y, x0, s30);
                s31 = TOps.MultiplyAdd(y, x1, s31);
                y = TOps.Broadcast(a4[d]);
                s40 = TOps.MultiplyAdd(y, x0, s40);
                s41 = TOps.MultiplyAdd(y, x1, s41);
                y = TOps.Broadcast(a5[d]);
                s50 = TOps.MultiplyAdd(y, x0, s50);
                s51 = TOps.MultiplyAdd(y, x1, s51);
            }
            float* cc = c + col;
            TOps.Store(TOps.Multiply(s00, scale), cc);
            TOps.Store(TOps.Multiply(s01, scale), cc + w);
            TOps.Store(TOps.Multiply(s10, scale), cc + width);
            TOps.Store(TOps.Multiply(s11, scale), cc + width + w);
            TOps.Store(TOps.Multiply(s20, scale), cc + 2 * width);
            TOps.Store(TOps.Multiply(s21, scale), cc + 2 * width + w);
            TOps.Store(TOps.Multiply(s30, scale), cc + 3 * width);
            TOps.Store(TOps.Multiply(s31, scale), cc + 3 * width + w);
            TOps.Store(TOps.Multiply(s40, scale), cc + 4 * width);
            TOps.Store(TOps.Multiply(s41, scale), cc + 4 * width + w);
            TOps.Store(TOps.Multiply(s50, scale), cc + 5 * width);
            TOps.Store(TOps.Multiply(s51, scale), cc + 5 * width + w);
        }
    }

    // o: 4 rows (D) ldo apart    a: element (r, j) at a[r·ars + j·acs]    x: rows (D) ldx apart; depth a multiple of 2W
    /// <summary>AccumulateRows4 for D a multiple of 2W: o[r, :] += Σ_{start ≤ j &lt; end} a[r, j]·x[j, :], 4 rows × 2W columns a tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows4<TReg, TOps>(float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
        where TReg : struct
        where TOps : struct, IFmaRegister<TReg>
    {
        nint w = TOps.Count;
        float* o1 = o + ldo, o2 = o1 + ldo, o3 = o2 + ldo;
        nint ars2 = 2 * ars, ars3 = 3 * ars;
        for (nint d = 0; d < depth; d += 2 * w)
        {
            var r00 = TOps.Load(o + d);
            var r01 = TOps.Load(o + d + w);
            var r10 = TOps.Load(o1 + d);
            var r11 = TOps.Load(o1 + d + w);
            var r20 = TOps.Load(o2 + d);
            var r21 = TOps.Load(o2 + d + w);
            var r30 = TOps.Load(o3 + d);
            var r31 = TOps.Load(o3 + d + w);
            float* xr = x + start * ldx + d; // row j of x at column d
            float* aj = a + start * acs;     // element (0, j) of a
            for (nint j = start; j < end; j++, xr += ldx, aj += acs)
            {
                var x0 = TOps.Load(xr);
                var x1 = TOps.Load(xr + w);
                var y = TOps.Broadcast(aj[0]);
                r00 = TOps.MultiplyAdd(y, x0, r00);
                r01 = TOps.MultiplyAdd(y, x1, r01);
                y = TOps.Broadcast(aj[ars]);
                r10 = TOps.MultiplyAdd(y, x0, r10);
                r11 = TOps.MultiplyAdd(y, x1, r11);
                y = TOps.Broadcast(aj[ars2]);
                r20 = TOps.MultiplyAdd(y, x0, r20);
                r21 = TOps.MultiplyAdd(y, x1, r21);
                y = TOps.Broadcast(aj[ars3]);
                r30 = TOps.MultiplyAdd(y, x0, r30);
                r31 = TOps.MultiplyAdd(y, x1, r31);
            }
            TOps.Store(r00, o + d);
            TOps.Store(r01, o + d + w);
            TOps.Store(r10, o1 + d);
            TOps.Store(r11, o1 + d + w);
            TOps.Store(r20, o2 + d);
            TOps.Store(r21, o2 + d + w);
            TOps.Store(r30, o3 + d);
            TOps.Store(r31, o3 + d + w);
        }
    }

    // o: 6 rows (D) ldo apart    a: element (r, j) at a[r·ars + j·acs]    x: rows (D) ldx apart; depth a multiple of 2W
    /// <summary>
    /// <see cref="AccumulateRows4{TReg, TOps}"/> for 6 rows: 12 accumulators, so the fused multiply-add latency is hidden
    /// with room to spare (8 chains only just cover it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows6<TReg, TOps>(float* o, nint ldo, float* a, nint ars, nint acs, float* x, nint ldx,
        int start, int end, int depth)
        where TReg : struct
        where TOps : struct, IFmaRegister<TReg>
    {
        nint w = TOps.Count;
        float* o1 = o + ldo, o2 = o1 + ldo, o3 = o2 + ldo, o4 = o3 + ldo, o5 = o4 + ldo;
        nint ars2 = 2 * ars, count = end - start; // rows 3–5 of a through a second pointer: fewer live strides
        for (nint d = 0; d < depth; d += 2 * w)
        {
            var r00 = TOps.Load(o + d);
            var r01 = TOps.Load(o + d + w);
            var r10 = TOps.Load(o1 + d);
            var r11 = TOps.Load(o1 + d + w);
            var r20 = TOps.Load(o2 + d);
            var r21 = TOps.Load(o2 + d + w);
            var r30 = TOps.Load(o3 + d);
            var r31 = TOps.Load(o3 + d + w);
            var r40 = TOps.Load(o4 + d);
            var r41 = TOps.Load(o4 + d + w);
            var r50 = TOps.Load(o5 + d);
            var r51 = TOps.Load(o5 + d + w);
            float* xr = x + start * ldx + d; // row j of x at column d
            float* aj = a + start * acs;     // element (0, j) of a
            float* aj3 = aj + 3 * ars;        // element (3, j)
            for (nint j = count; j > 0; j--, xr += ldx, aj += acs, aj3 += acs)
            {
                var x0 = TOps.Load(xr);
                var x1 = TOps.Load(xr + w);
                var y = TOps.Broadcast(aj[0]);
                r00 = TOps.MultiplyAdd(y, x0, r00);
                r01 = TOps.MultiplyAdd(y, x1, r01);
                y = TOps.Broadcast(aj[ars]);
                r10 = TOps.MultiplyAdd(y, x0, r10);
                r11 = TOps.MultiplyAdd(y, x1, r11);
                y = TOps.Broadcast(aj[ars2]);
                r20 = TOps.MultiplyAdd(y, x0, r20);
                r21 = TOps.MultiplyAdd(y, x1, r21);
                y = TOps.Broadcast(aj3[0]);
                r30 = TOps.MultiplyAdd(y, x0, r30);
                r31 = TOps.MultiplyAdd(y, x1, r31);
                y = TOps.Broadcast(aj3[ars]);
                r40 = TOps.MultiplyAdd(y, x0, r40);
                r41 = TOps.MultiplyAdd(y, x1, r41);
                y = TOps.Broadcast(aj3[ars2]);
                r50 = TOps.MultiplyAdd(y, x0, r50);
                r51 = TOps.MultiplyAdd(y, x1, r51);
            }
            TOps.Store(r00, o + d);
            TOps.Store(r01, o + d + w);
            TOps.Store(r10, o1 + d);
            TOps.Store(r11, o1 + d + w);
            TOps.Store(r20, o2 + d);
            TOps.Store(r21, o2 + d + w);
            TOps.Store(r30, o3 + d);
            TOps.Store(r31, o3 + d + w);
            TOps.Store(r40, o4 + d);
            TOps.Store(r41, o4 + d + w);
            TOps.Store(r50, o5 + d);
            TOps.Store(r51, o5 + d + w);
        }
    }
}
