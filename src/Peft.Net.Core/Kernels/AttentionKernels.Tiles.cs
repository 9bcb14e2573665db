using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

// The two register-tiled micro-kernels every attention product runs on, written once over a register width W (an <c>IFloatVector</c>):
//   ScorePanel:        C (R, L) = alpha · A (R, D) · Bᵀ   with Bᵀ packed as a (D, L) panel, vectorised over L
//   AccumulateProduct: O (N, D) += A (N, M) · X (M, D)      A read through strides, vectorised over D
// Forward: S = scale·Q·Kᵀ (ScorePanel), O += P·V (AccumulateProduct).
// Backward: S again, dP = dO·Vᵀ (ScorePanel), dV += Pᵀ·dO, dQ += dS·K, dK += dSᵀ·Q (AccumulateProduct).
// The kernels are compiled fully optimised from the first call (AggressiveOptimization): no slow tier-0 loops in the
// first steps of a run.
internal static partial class AttentionKernels
{
    // rows: (keys, D) rows ld apart  →  panel: (D, width), panel[d, c] = rows[c, d], columns keys .. width zero
    /// <summary>
    /// Packs a block of key (or value) rows transposed, padded with zero columns to <paramref name="width"/>: the GEMM's
    /// row-panel packing (<see cref="GemmPacking.PackRows"/>, 4×4 blocks transposed in registers).
    /// </summary>
    private static unsafe void PackTransposed(ReadOnlySpan<float> rows, int ld, int keys, int depth, Span<float> panel, int width)
    {
        Debug.Assert((keys == 0 || rows.Length >= (keys - 1) * ld + depth) && panel.Length >= depth * width && width >= keys);
        fixed (float* source = rows, destination = panel)
            GemmPacking.PackRows(source, ld, keys, depth, width, destination);
    }

    // p: (L)    p = exp(p − shift), returns Σ p
    /// <summary>Exponentiates one row of scores shifted by <paramref name="shift"/> in place and returns their sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float ExpShiftRow<TV>(Span<float> p, float shift)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, n = p.Length, c = 0;
        ref float p0 = ref MemoryMarshal.GetReference(p);
        TV shiftV = TV.Create(shift), sumV = TV.Zero;
        for (; c + w <= n; c += w)
        {
            ref float pc = ref Unsafe.Add(ref p0, c);
            TV e = TV.Exp(TV.Load(ref pc) - shiftV);
            TV.Store(e, ref pc);
            sumV += e;
        }
        float sum = TV.Sum(sumV);
        for (; c < n; c++) sum += Unsafe.Add(ref p0, c) = MathF.Exp(Unsafe.Add(ref p0, c) - shift);
        return sum;
    }

    // ds, p: (L)    ds = scale · p ∘ (ds − delta)
    /// <summary>The score gradient of one row from dP (in <paramref name="ds"/>), P and Δ, with the score scale folded in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreGradientRow<TV>(Span<float> ds, ReadOnlySpan<float> p, float delta, float scale)
        where TV : struct, IFloatVector<TV>
    {
        Debug.Assert(p.Length >= ds.Length);
        int w = TV.Count, n = ds.Length, c = 0;
        ref float d0 = ref MemoryMarshal.GetReference(ds);
        ref float p0 = ref MemoryMarshal.GetReference(p);
        TV dv = TV.Create(delta), sv = TV.Create(scale);
        for (; c + w <= n; c += w)
        {
            ref float dc = ref Unsafe.Add(ref d0, c);
            TV.Store(TV.Load(ref Unsafe.Add(ref p0, c)) * sv * (TV.Load(ref dc) - dv), ref dc);
        }
        for (; c < n; c++) Unsafe.Add(ref d0, c) = Unsafe.Add(ref p0, c) * scale * (Unsafe.Add(ref d0, c) - delta);
    }

    // a: (R, D) rows lda apart    bt: (D, L) packed, rows ldb apart, L a multiple of 2W    c: (R, L)
    /// <summary>
    /// c = alpha · a · bt: 4 rows × 2 registers of columns per register tile. Row i needs only its first
    /// i + <paramref name="diagonal"/> columns (the causal mask; <see cref="NoMask"/> for all): each register tile
    /// stops at the pair of registers that holds the last column its rows need, and the columns past it are not
    /// written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScorePanel<TV>(ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> bt, int ldb, Span<float> c,
        int rows, int depth, int width, float alpha, int diagonal)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        Debug.Assert(width % (2 * w) == 0 && ldb >= width && (depth == 0 || bt.Length >= (depth - 1) * ldb + width));
        Debug.Assert(c.Length >= rows * width);
        Debug.Assert(rows == 0 || a.Length >= (rows - 1) * lda + depth);
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float b0 = ref MemoryMarshal.GetReference(bt);
        ref float c0 = ref MemoryMarshal.GetReference(c);
        TV scale = TV.Create(alpha);
        int i = 0;
        nint step = ldb; // native-sized, so each load below is one addressing mode (no sign extension per load)
        bool registerTiles = UsesRegisterTiles<TV>();
        if (registerTiles)
        {
            // 6 rows a register tile (12 accumulators) while 6 are left; the tile's first rows get the columns its
            // last row needs, which only fills more of the span past their masks.
            for (; i + 6 <= rows; i += 6)
            {
                int columns = NeededColumns(i + 5 + diagonal, width, 2 * w);
                unsafe
                {
                    fixed (float* pa = &Unsafe.Add(ref a0, i * lda), pb = &b0, pc = &Unsafe.Add(ref c0, i * width))
                        ScoreRows<TV>(6, pa, lda, pb, ldb, pc, width, columns, depth, alpha);
                }
            }
        }
        for (; i + 4 <= rows; i += 4)
        {
            ref float ar = ref Unsafe.Add(ref a0, i * lda);
            ref float a1 = ref Unsafe.Add(ref ar, lda);
            ref float a2 = ref Unsafe.Add(ref ar, 2 * lda);
            ref float a3 = ref Unsafe.Add(ref ar, 3 * lda);
            ref float cr = ref Unsafe.Add(ref c0, i * width);
            int columns = NeededColumns(i + 3 + diagonal, width, 2 * w);
            if (registerTiles)
            {
                unsafe
                {
                    fixed (float* pa = &ar, pb = &b0, pc = &cr)
                        ScoreRows<TV>(4, pa, lda, pb, ldb, pc, width, columns, depth, alpha);
                }
                continue;
            }
            for (int col = 0; col < columns; col += 2 * w)
            {
                TV s00 = TV.Zero, s01 = TV.Zero, s10 = TV.Zero, s11 = TV.Zero;
                TV s20 = TV.Zero, s21 = TV.Zero, s30 = TV.Zero, s31 = TV.Zero;
                ref float bd = ref Unsafe.Add(ref b0, col); // row d of the panel, advanced by ldb each step
                for (nint d = 0; d < depth; d++, bd = ref Unsafe.Add(ref bd, step))
                {
                    TV x0 = TV.Load(ref bd);
                    TV x1 = TV.Load(ref Unsafe.Add(ref bd, w));
                    TV y = TV.Create(Unsafe.Add(ref ar, d));
                    s00 = TV.MultiplyAdd(y, x0, s00);
                    s01 = TV.MultiplyAdd(y, x1, s01);
                    y = TV.Create(Unsafe.Add(ref a1, d));
                    s10 = TV.MultiplyAdd(y, x0, s10);
                    s11 = TV.MultiplyAdd(y, x1, s11);
                    y = TV.Create(Unsafe.Add(ref a2, d));
                    s20 = TV.MultiplyAdd(y, x0, s20);
                    s21 = TV.MultiplyAdd(y, x1, s21);
                    y = TV.Create(Unsafe.Add(ref a3, d));
                    s30 = TV.MultiplyAdd(y, x0, s30);
                    s31 = TV.MultiplyAdd(y, x1, s31);
                }
                ref float cc = ref Unsafe.Add(ref cr, col);
                TV.Store(s00 * scale, ref cc);
                TV.Store(s01 * scale, ref Unsafe.Add(ref cc, w));
                TV.Store(s10 * scale, ref Unsafe.Add(ref cc, width));
                TV.Store(s11 * scale, ref Unsafe.Add(ref cc, width + w));
                TV.Store(s20 * scale, ref Unsafe.Add(ref cc, 2 * width));
                TV.Store(s21 * scale, ref Unsafe.Add(ref cc, 2 * width + w));
                TV.Store(s30 * scale, ref Unsafe.Add(ref cc, 3 * width));
                TV.Store(s31 * scale, ref Unsafe.Add(ref cc, 3 * width + w));
            }
        }
        for (; i < rows; i++)
        {
            ref float ar = ref Unsafe.Add(ref a0, i * lda);
            ref float cr = ref Unsafe.Add(ref c0, i * width);
            int columns = NeededColumns(i + diagonal, width, 2 * w);
            for (int col = 0; col < columns; col += 2 * w)
            {
                TV s0 = TV.Zero, s1 = TV.Zero;
                ref float bc = ref Unsafe.Add(ref b0, col);
                for (int d = 0; d < depth; d++)
                {
                    TV y = TV.Create(Unsafe.Add(ref ar, d));
                    s0 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref bc, d * ldb)), s0);
                    s1 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref bc, d * ldb + w)), s1);
                }
                TV.Store(s0 * scale, ref Unsafe.Add(ref cr, col));
                TV.Store(s1 * scale, ref Unsafe.Add(ref cr, col + w));
            }
        }
    }

    // q: (D)    keys: (count, D) rows ld apart    scores: (count)
    /// <summary>
    /// scores[c] = alpha · q·keys[c] for one query row, each a dot product vectorised along D with the key rows read in
    /// place (a decode step: nothing to pack), four keys at a time; every score gets the same operations whichever
    /// group it falls in. Scores past <paramref name="count"/> are not written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreRowInPlace<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int ld, int count, int depth,
        float alpha, Span<float> scores)
        where TV : struct, IFloatVector<TV>
    {
        Debug.Assert(q.Length >= depth && scores.Length >= count && (count <= 0 || keys.Length >= (count - 1) * ld + depth));
        ref float q0 = ref MemoryMarshal.GetReference(q);
        ref float k0 = ref MemoryMarshal.GetReference(keys);
        int c = 0;
        for (; c + 4 <= count; c += 4) // four keys share each loaded query vector: four independent chains
        {
            DotFourRows<TV>(ref q0, ref Unsafe.Add(ref k0, c * ld), ld, depth, out float ra, out float rb, out float rc, out float rd);
            scores[c] = alpha * ra;
            scores[c + 1] = alpha * rb;
            scores[c + 2] = alpha * rc;
            scores[c + 3] = alpha * rd;
        }
        for (; c < count; c++)
            scores[c] = alpha * Dot<TV>(ref q0, ref Unsafe.Add(ref k0, c * ld), depth);
    }

    // output: (N, D) rows ldo apart    a: (N, M), element (i, j) at a[i·ars + j·acs]    x: (M, D) rows ldx apart
    /// <summary>
    /// output += a · x: 4 rows × 2 registers of D per register tile, scalar D tail. Row i of a may be non-zero only
    /// for i + <paramref name="startOffset"/> ≤ j &lt; i + <paramref name="endOffset"/> (the causal mask of a or of
    /// aᵀ; ±<see cref="NoMask"/> for none): each register tile runs j over the span its rows need.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateProduct<TV>(Span<float> output, int ldo, ReadOnlySpan<float> a, int ars, int acs,
        ReadOnlySpan<float> x, int ldx, int n, int m, int depth, int startOffset, int endOffset)
        where TV : struct, IFloatVector<TV>
    {
        Debug.Assert(n == 0 || output.Length >= (n - 1) * ldo + depth);
        Debug.Assert(m == 0 || x.Length >= (m - 1) * ldx + depth);
        Debug.Assert(n == 0 || m == 0 || a.Length > (n - 1) * ars + (m - 1) * acs);
        ref float o0 = ref MemoryMarshal.GetReference(output);
        ref float a0 = ref MemoryMarshal.GetReference(a);
        ref float x0 = ref MemoryMarshal.GetReference(x);
        int i = 0;
        bool registerTiles = UsesRegisterTiles<TV>() && depth % (2 * TV.Count) == 0;
        if (registerTiles)
        {
            // 6 rows a register tile (12 accumulators) while 6 are left. A row of the tile multiplies the zeros of a
            // past its own mask within the span the tile's rows need, which leaves its sums unchanged.
            for (; i + 6 <= n; i += 6)
            {
                int start = Math.Clamp(i + startOffset, 0, m), end = Math.Clamp(i + 5 + endOffset, start, m);
                unsafe
                {
                    fixed (float* po = &Unsafe.Add(ref o0, i * ldo), pa = &Unsafe.Add(ref a0, i * ars), px = &x0)
                        AccumulateRows<TV>(6, po, ldo, pa, ars, acs, px, ldx, start, end, depth);
                }
            }
        }
        for (; i + 4 <= n; i += 4)
        {
            int start = Math.Clamp(i + startOffset, 0, m), end = Math.Clamp(i + 3 + endOffset, start, m);
            if (registerTiles)
            {
                unsafe
                {
                    fixed (float* po = &Unsafe.Add(ref o0, i * ldo), pa = &Unsafe.Add(ref a0, i * ars), px = &x0)
                        AccumulateRows<TV>(4, po, ldo, pa, ars, acs, px, ldx, start, end, depth);
                }
            }
            else AccumulateRows4<TV>(ref Unsafe.Add(ref o0, i * ldo), ldo, ref Unsafe.Add(ref a0, i * ars), ars, acs, ref x0, ldx,
                start, end, depth);
        }
        for (; i < n; i++)
        {
            int start = Math.Clamp(i + startOffset, 0, m), end = Math.Clamp(i + endOffset, start, m);
            AccumulateRow<TV>(ref Unsafe.Add(ref o0, i * ldo), ref Unsafe.Add(ref a0, i * ars), acs, ref x0, ldx, start, end, depth);
        }
    }

    /// <summary>A diagonal or offset that masks nothing: i ± NoMask stays far outside any block without overflowing.</summary>
    private const int NoMask = int.MaxValue / 4;

    /// <summary>Columns a register tile computes so that a row seeing <paramref name="visible"/> columns gets them all.</summary>
    private static int NeededColumns(int visible, int width, int step) => Math.Min(width, RoundUp(Math.Max(0, visible), step));

    // o: 4 rows (D) ldo apart    a: 4 rows (M), (r, j) at a[r·ars + j·acs]    x: (M, D) rows ldx apart; j in [start, end)
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AccumulateRows4<TV>(ref float o, int ldo, ref float a, int ars, int acs,
        ref float x, int ldx, int start, int end, int depth)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        ref float o1 = ref Unsafe.Add(ref o, ldo);
        ref float o2 = ref Unsafe.Add(ref o, 2 * ldo);
        ref float o3 = ref Unsafe.Add(ref o, 3 * ldo);
        int d = 0;
        // Native-sized strides: the rows of x and the elements of a are reached by advancing references, so each
        // load below is one addressing mode (no multiply or sign extension per load).
        nint xStep = ldx, aStep = acs, row1 = ars, row2 = 2 * (nint)ars, row3 = 3 * (nint)ars;
        for (; d + 2 * w <= depth; d += 2 * w)
        {
            TV r00 = TV.Load(ref Unsafe.Add(ref o, d)), r01 = TV.Load(ref Unsafe.Add(ref o, d + w));
            TV r10 = TV.Load(ref Unsafe.Add(ref o1, d)), r11 = TV.Load(ref Unsafe.Add(ref o1, d + w));
            TV r20 = TV.Load(ref Unsafe.Add(ref o2, d)), r21 = TV.Load(ref Unsafe.Add(ref o2, d + w));
            TV r30 = TV.Load(ref Unsafe.Add(ref o3, d)), r31 = TV.Load(ref Unsafe.Add(ref o3, d + w));
            ref float xr = ref Unsafe.Add(ref x, start * ldx + d); // row j of x at column d
            ref float aj = ref Unsafe.Add(ref a, start * acs);     // element (0, j) of a
            for (int j = start; j < end; j++, xr = ref Unsafe.Add(ref xr, xStep), aj = ref Unsafe.Add(ref aj, aStep))
            {
                TV x0 = TV.Load(ref xr), x1 = TV.Load(ref Unsafe.Add(ref xr, w));
                TV y = TV.Create(aj);
                r00 = TV.MultiplyAdd(y, x0, r00);
                r01 = TV.MultiplyAdd(y, x1, r01);
                y = TV.Create(Unsafe.Add(ref aj, row1));
                r10 = TV.MultiplyAdd(y, x0, r10);
                r11 = TV.MultiplyAdd(y, x1, r11);
                y = TV.Create(Unsafe.Add(ref aj, row2));
                r20 = TV.MultiplyAdd(y, x0, r20);
                r21 = TV.MultiplyAdd(y, x1, r21);
                y = TV.Create(Unsafe.Add(ref aj, row3));
                r30 = TV.MultiplyAdd(y, x0, r30);
                r31 = TV.MultiplyAdd(y, x1, r31);
            }
            TV.Store(r00, ref Unsafe.Add(ref o, d)); TV.Store(r01, ref Unsafe.Add(ref o, d + w));
            TV.Store(r10, ref Unsafe.Add(ref o1, d)); TV.Store(r11, ref Unsafe.Add(ref o1, d + w));
            TV.Store(r20, ref Unsafe.Add(ref o2, d)); TV.Store(r21, ref Unsafe.Add(ref o2, d + w));
            TV.Store(r30, ref Unsafe.Add(ref o3, d)); TV.Store(r31, ref Unsafe.Add(ref o3, d + w));
        }
        for (; d + w <= depth; d += w)
        {
            TV r0 = TV.Load(ref Unsafe.Add(ref o, d)), r1 = TV.Load(ref Unsafe.Add(ref o1, d));
            TV r2 = TV.Load(ref Unsafe.Add(ref o2, d)), r3 = TV.Load(ref Unsafe.Add(ref o3, d));
            for (int j = start; j < end; j++)
            {
                TV xv = TV.Load(ref Unsafe.Add(ref x, j * ldx + d));
                ref float aj = ref Unsafe.Add(ref a, j * acs);
                r0 = TV.MultiplyAdd(TV.Create(aj), xv, r0);
                r1 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref aj, ars)), xv, r1);
                r2 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref aj, 2 * ars)), xv, r2);
                r3 = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref aj, 3 * ars)), xv, r3);
            }
            TV.Store(r0, ref Unsafe.Add(ref o, d)); TV.Store(r1, ref Unsafe.Add(ref o1, d));
            TV.Store(r2, ref Unsafe.Add(ref o2, d)); TV.Store(r3, ref Unsafe.Add(ref o3, d));
        }
        for (; d < depth; d++)
        {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int j = start; j < end; j++)
            {
                float xv = Unsafe.Add(ref x, j * ldx + d);
                ref float aj = ref Unsafe.Add(ref a, j * acs);
                s0 += aj * xv;
                s1 += Unsafe.Add(ref aj, ars) * xv;
                s2 += Unsafe.Add(ref aj, 2 * ars) * xv;
                s3 += Unsafe.Add(ref aj, 3 * ars) * xv;
            }
            Unsafe.Add(ref o, d) += s0;
            Unsafe.Add(ref o1, d) += s1;
            Unsafe.Add(ref o2, d) += s2;
            Unsafe.Add(ref o3, d) += s3;
        }
    }

    // o: (D)    a: (M), element j at a[j·acs]    x: (M, D) rows ldx apart; j in [start, end)
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateRow<TV>(ref float o, ref float a, int acs, ref float x, int ldx, int start, int end, int depth)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count;
        int d = 0;
        // Four registers of D per pass over the rows (two passes for D = 64 at 256 bits): four independent chains,
        // and rows H·D apart (time before heads) are walked half as often.
        for (; d + 4 * w <= depth; d += 4 * w)
        {
            ref float od = ref Unsafe.Add(ref o, d);
            TV r0 = TV.Load(ref od), r1 = TV.Load(ref Unsafe.Add(ref od, w));
            TV r2 = TV.Load(ref Unsafe.Add(ref od, 2 * w)), r3 = TV.Load(ref Unsafe.Add(ref od, 3 * w));
            for (int j = start; j < end; j++)
            {
                ref float xr = ref Unsafe.Add(ref x, j * ldx + d);
                TV y = TV.Create(Unsafe.Add(ref a, j * acs));
                r0 = TV.MultiplyAdd(y, TV.Load(ref xr), r0);
                r1 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref xr, w)), r1);
                r2 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref xr, 2 * w)), r2);
                r3 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref xr, 3 * w)), r3);
            }
            TV.Store(r0, ref od);
            TV.Store(r1, ref Unsafe.Add(ref od, w));
            TV.Store(r2, ref Unsafe.Add(ref od, 2 * w));
            TV.Store(r3, ref Unsafe.Add(ref od, 3 * w));
        }
        for (; d + 2 * w <= depth; d += 2 * w)
        {
            TV r0 = TV.Load(ref Unsafe.Add(ref o, d)), r1 = TV.Load(ref Unsafe.Add(ref o, d + w));
            for (int j = start; j < end; j++)
            {
                ref float xr = ref Unsafe.Add(ref x, j * ldx + d);
                TV y = TV.Create(Unsafe.Add(ref a, j * acs));
                r0 = TV.MultiplyAdd(y, TV.Load(ref xr), r0);
                r1 = TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref xr, w)), r1);
            }
            TV.Store(r0, ref Unsafe.Add(ref o, d));
            TV.Store(r1, ref Unsafe.Add(ref o, d + w));
        }
        for (; d + w <= depth; d += w)
        {
            TV r = TV.Load(ref Unsafe.Add(ref o, d));
            for (int j = start; j < end; j++)
                r = TV.MultiplyAdd(TV.Create(Unsafe.Add(ref a, j * acs)), TV.Load(ref Unsafe.Add(ref x, j * ldx + d)), r);
            TV.Store(r, ref Unsafe.Add(ref o, d));
        }
        for (; d < depth; d++)
        {
            float s = 0;
            for (int j = start; j < end; j++) s += Unsafe.Add(ref a, j * acs) * Unsafe.Add(ref x, j * ldx + d);
            Unsafe.Add(ref o, d) += s;
        }
    }
}
