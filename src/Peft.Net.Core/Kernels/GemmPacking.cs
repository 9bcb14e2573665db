using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Copies blocks of A and B into the panel layouts the micro-kernels stream through: A as panels of MR rows laid
/// out (KC, MR), B as panels of NR columns laid out (KC, NR). Panels past the matrix edge are zero-padded, so the
/// micro-kernel always runs full tiles. B given as <see cref="IPackableWeight"/> is decoded panel by panel here:
/// no float copy larger than one panel ever exists.
/// </summary>
internal static unsafe partial class GemmPacking
{
    /// <summary>
    /// Whether packing a panel of a transposed B asks for the next panel's rows (on; benchmarks turn it off to measure
    /// what it brings: <c>Peft.Net.Benchmarks --cold-weights</c>). It moves no result.
    /// </summary>
    internal static bool PrefetchNextPanel = true;

    /// <summary>
    /// Whether a GEMM rectangle of at most MC rows packs B one panel at a time, just before that panel's tiles, asking
    /// for the next panel's source while they run (<see cref="GemmDriver{TKernel}"/>; on). Tests and benchmarks turn it
    /// off to compare with packing whole blocks first; it moves no result.
    /// </summary>
    internal static bool PackPanelsJustInTime = true;

    /// <summary>Rectangles computed panel by panel so far (once per rectangle, not per panel): tests check the path ran.</summary>
    internal static long OneRowBlockRuns;

    // A block rows [i0, i0 + mc) × k range [p0, p0 + kc) → dst: ceil(mc / mr) panels of (kc, mr)
    /// <summary>Packs the (mc × kc) block of op(A) at (i0, p0) into MR-row panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(in GemmProblem problem, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        if (!problem.TransA) // A: (M, K): panel rows are rows of A
        {
            PackRowPanels(problem.A + (nint)i0 * problem.K + p0, problem.K, mc, kc, mr, dst);
            return;
        }
        for (int i = 0; i < mc; i += mr, dst += kc * mr) // A: (K, M): the panel's k-th row is contiguous in A
            PackColumns(problem.A + (nint)p0 * problem.M + i0 + i, problem.M, Math.Min(mr, mc - i), kc, mr, dst);
    }

    // B block k range [p0, p0 + kc) × columns [j0, j0 + nc) → dst: ceil(nc / nr) panels of (kc, nr)
    /// <summary>Packs the (kc × nc) block of op(B) at (p0, j0) into NR-column panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(in GemmProblem problem, int j0, int nc, int p0, int kc, int nr, float* dst, GemmWorkspace workspace)
    {
        if (problem.Weight is null && !problem.TransB) // B: (K, N): sweep its rows once, in order
        {
            PackRowSegments(problem.B + (nint)p0 * problem.N + j0, problem.N, nc, kc, nr, dst);
            return;
        }
        for (int j = 0; j < nc; j += nr, dst += kc * nr)
        {
            int cols = Math.Min(nr, nc - j);
            var weight = problem.Weight;
            if (weight is null)
            {
                if (problem.TransB) // B: (N, K): panel columns are rows of B
                {
                    float* rows = problem.B + (nint)(j0 + j) * problem.K + p0;
                    // While this panel is packed, ask for the next one's rows: a cold weight streams from memory.
                    if (PrefetchNextPanel && j + nr < nc) PackRows<Prefetching>(rows, problem.K, cols, kc, nr, dst, (nint)nr * problem.K);
                    else PackRows(rows, problem.K, cols, kc, nr, dst);
                }
                else // B: (K, N)
                    PackColumns(problem.B + (nint)p0 * problem.N + j0 + j, problem.N, cols, kc, nr, dst);
            }
            else if (problem.TransB) // W: (N, K): decode W[j0+j .. +cols, p0 .. +kc], then transpose into the panel
            {
                float* scratch = workspace.Scratch(nr * kc);
                weight.DecodeTile(j0 + j, cols, p0, kc, new Span<float>(scratch, cols * kc), kc);
                PackRows(scratch, kc, cols, kc, nr, dst);
            }
            else // W: (K, N): decode W[p0 .. +kc, j0+j .. +cols] straight into the panel
            {
                weight.DecodeTile(p0, kc, j0 + j, cols, new Span<float>(dst, kc * nr), nr);
                if (cols < nr)
                    for (int p = 0; p < kc; p++) new Span<float>(dst + p * nr + cols, nr - cols).Clear();
            }
        }
    }

    // src: (count, ≥ kc) with row stride ld → dst: ⌈count / width⌉ panels of (kc, width), zero-padded past count
    /// <summary>
    /// Packs <paramref name="count"/> rows of length <paramref name="kc"/> into panels of <paramref name="width"/>
    /// rows, each laid out (kc, width): an A block, or a factor of a low-rank term (A2 (M, K2), B2 (N, K2)).
    /// </summary>
    public static void PackRowPanels(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        bool twelve = width == 12 && UsesTwelveRowTransposes;
        for (int r = 0; r < count; r += width, dst += (nint)kc * width)
        {
            if (twelve && count - r >= width) PackTwelveRows(src + r * ld, ld, kc, dst);
            else PackRows(src + r * ld, ld, Math.Min(width, count - r), kc, width, dst);
        }
    }

    // src: (kc, ≥ nc) with row stride ld → dst: ⌈nc / nr⌉ panels of (kc, nr); panel j holds columns j·nr .. j·nr + nr,
    // zero past nc
    /// <summary>
    /// Packs a (kc × nc) block of a row-major B into NR-column panels row by row: each row segment of B is read once,
    /// in order (a sequential stream, which a cold weight streams from memory at full speed), and its NR-float pieces
    /// go to the panels. Panel by panel, the same block is read as NR-float pieces K·4 bytes apart, a stride that
    /// defeats the caches and the prefetcher when B is not already cached.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackRowSegments(float* src, nint ld, int nc, int kc, int nr, float* dst)
    {
        int fullPanels = nc / nr, tail = nc - fullPanels * nr;
        nint panelStride = (nint)kc * nr;
        for (int p = 0; p < kc; p++)
        {
            float* s = src + p * ld, d = dst + p * nr;
            for (int j = 0; j < fullPanels; j++, s += nr, d += panelStride)
            {
                int c = 0;
                for (; c <= nr - 8; c += 8) Vector256.Store(Vector256.Load(s + c), d + c);
                for (; c < nr; c++) d[c] = s[c];
            }
            if (tail > 0)
            {
                int c = 0;
                for (; c < tail; c++) d[c] = s[c];
                for (; c < nr; c++) d[c] = 0;
            }
        }
    }

    // src: (count, ≥ kc) with row stride ld → dst: (kc, width), dst[p, r] = src[r, p], zero for count ≤ r < width
    /// <summary>Transposes <paramref name="count"/> rows of length kc into a (kc, width) panel, 4×4 blocks at a time, then 2×4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PackRows(float* src, nint ld, int count, int kc, int width, float* dst) =>
        PackRows<NotPrefetching>(src, ld, count, kc, width, dst, 0);

    /// <summary>Whether <see cref="PackRows{TPrefetch}"/> asks for other rows while it packs (a type, so each choice compiles to its own loop).</summary>
    private interface IPrefetchChoice
    {
        static abstract bool Prefetches { get; }
    }

    private readonly struct Prefetching : IPrefetchChoice
    {
        public static bool Prefetches => true;
    }

    private readonly struct NotPrefetching : IPrefetchChoice
    {
        public static bool Prefetches => false;
    }

    // ahead: with Prefetching, the rows src + ahead .. (the same count, kc floats, ld apart) are asked for, one cache
    // line of 4 rows per 4 blocks of 4×4
    /// <summary>
    /// <see cref="PackRows(float*, nint, int, int, int, float*)"/>; prefetching, it also asks for the rows
    /// <paramref name="ahead"/> floats further (the next panel's, when B is a weight read straight from memory: a
    /// panel's 16 rows, each only kc floats long, are too many short streams for the hardware prefetcher to run ahead
    /// of; x·Wᵀ at 128 rows over cold weights on one thread ran 6–8 % faster).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows<TPrefetch>(float* src, nint ld, int count, int kc, int width, float* dst, nint ahead)
        where TPrefetch : struct, IPrefetchChoice
    {
        int r = 0;
        nint w = width; // native-sized strides: the stores below address without a sign extension per block
        if (UsesEightRowTransposes)
            r = PackEightRowGroups<TPrefetch>(src, ld, count, kc, w, dst, ahead);
        if (Sse.IsSupported)
            for (; r <= count - 4; r += 4)
            {
                float* s0 = src + r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
                int p = 0;
                float* d = dst + r; // row p of the panel, at this group's first column
                for (; p <= kc - 4; p += 4, d += 4 * w)
                {
                    if (TPrefetch.Prefetches && (p & 15) == 0)
                    {
                        Sse.Prefetch0(s0 + ahead + p);
                        Sse.Prefetch0(s1 + ahead + p);
                        Sse.Prefetch0(s2 + ahead + p);
                        Sse.Prefetch0(s3 + ahead + p);
                    }
                    var (c0, c1, c2, c3) = Transpose4x4(Sse.LoadVector128(s0 + p), Sse.LoadVector128(s1 + p),
                        Sse.LoadVector128(s2 + p), Sse.LoadVector128(s3 + p));
                    Sse.Store(d, c0);
                    Sse.Store(d + w, c1);
                    Sse.Store(d + 2 * w, c2);
                    Sse.Store(d + 3 * w, c3);
                }
                for (; p < kc; p++, d += w)
                {
                    d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
                }
            }
        if (Sse.IsSupported)
            for (; r <= count - 2; r += 2) // a pair of rows (rows 4 and 5 of a 6-row A panel): 2×4 blocks
            {
                float* s0 = src + r * ld, s1 = s0 + ld;
                int p = 0;
                float* d = dst + r;
                for (; p <= kc - 4; p += 4, d += 4 * w)
                {
                    var x = Sse.LoadVector128(s0 + p);
                    var y = Sse.LoadVector128(s1 + p);
                    var low = Sse.UnpackLow(x, y);   // x[0] y[0] x[1] y[1]
                    var high = Sse.UnpackHigh(x, y); // x[2] y[2] x[3] y[3]
                    Sse.StoreLow(d, low);
                    Sse.StoreHigh(d + w, low);
                    Sse.StoreLow(d + 2 * w, high);
                    Sse.StoreHigh(d + 3 * w, high);
                }
                for (; p < kc; p++, d += w)
                {
                    d[0] = s0[p]; d[1] = s1[p];
                }
            }
        for (; r < count; r++)
        {
            float* s = src + r * ld;
            float* d = dst + r;
            for (int p = 0; p < kc; p++) d[p * width] = s[p];
        }
        if (count < width)
            for (int p = 0; p < kc; p++) new Span<float>(dst + p * width + count, width - count).Clear();
    }

    // rows r0..r3 of a 4×4 block → its columns c0..c3
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float>, Vector128<float>, Vector128<float>, Vector128<float>) Transpose4x4(
        Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3)
    {
        var t0 = Sse.UnpackLow(r0, r1);  // r0[0] r1[0] r0[1] r1[1]
        var t1 = Sse.UnpackLow(r2, r3);  // r2[0] r3[0] r2[1] r3[1]
        var t2 = Sse.UnpackHigh(r0, r1); // r0[2] r1[2] r0[3] r1[3]
        var t3 = Sse.UnpackHigh(r2, r3); // r2[2] r3[2] r2[3] r3[3]
        return (Sse.MoveLowToHigh(t0, t1), Sse.MoveHighToLow(t1, t0), Sse.MoveLowToHigh(t2, t3), Sse.MoveHighToLow(t3, t2));
    }

    // src: (kc, ≥ count) with row stride ld → dst: (kc, width), dst[p, c] = src[p, c], zero for count ≤ c < width
    /// <summary>Copies kc rows of <paramref name="count"/> values into a (kc, width) panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackColumns(float* src, nint ld, int count, int kc, int width, float* dst)
    {
        for (int p = 0; p < kc; p++)
        {
            float* s = src + p * ld, d = dst + p * width;
            int c = 0;
            for (; c <= count - 8; c += 8) Vector256.Store(Vector256.Load(s + c), d + c);
            for (; c <= count - 4; c += 4) Vector128.Store(Vector128.Load(s + c), d + c);
            for (; c < count; c++) d[c] = s[c];
            for (; c < width; c++) d[c] = 0;
        }
    }
}
