using System.Runtime.CompilerServices;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The cache-blocked loops of the packed GEMM (BLIS order) around one micro-kernel, over a rectangle of C:
/// <code>
/// for j0 in columns step NC:              B block (KC × NC) packed once, stays in L3
///   for p0 in 0..K step KC:
///     pack B[p0.., j0..]
///     for i0 in rows step MC:             A block (MC × KC) packed, stays in L2
///       pack A[i0.., p0..]
///       for each NR panel of B:           B micro-panel (KC × NR) stays in L1
///         for each MR panel of A:         micro-kernel: MR × NR tile of C in registers
/// </code>
/// The first KC block stores into C (unless the call accumulates), later ones add. Every C element is computed by
/// the same sequence of operations whichever rectangle or thread it belongs to, so results are deterministic.
/// <para>A rectangle of at most MC rows (a prefill, a small batch: one A block, so each packed B panel serves only
/// ⌈rows / MR⌉ tiles) packs B one (KC × NR) panel at a time instead, just before that panel's tiles run, while those
/// tiles ask for the next panel's source a few cache lines at a time (<see cref="PanelSourcePrefetch"/>): a weight
/// read cold from memory then streams in behind the multiply-adds instead of stalling the packing, and the packed
/// panel is still in L1 when the tiles read it. Every tile runs the micro-kernel on the same packed values in the same
/// depth order: the same bits (<see cref="GemmPacking.PackPanelsJustInTime"/> switches it).</para>
/// </summary>
internal static unsafe class GemmDriver<TKernel> where TKernel : struct, IGemmMicroKernel
{
    /// <summary>Depth of one packed block: a B micro-panel (KC × NR) about fills L1; longer blocks mean fewer passes over C.</summary>
    public const int KC = 384;

    /// <summary>Rows of one packed A block (a multiple of MR); KC × MC floats stay in L2.</summary>
    public static int MC => TKernel.MR * Math.Max(1, 192 / TKernel.MR);

    /// <summary>Columns of one packed B block (a multiple of NR); KC × NC floats stay in L3.</summary>
    public static int NC => TKernel.NR * Math.Max(1, 1024 / TKernel.NR);

    // C rows [m0, m1) × columns [n0, n1) of problem.C: (M, N)
    // sharedB: null, or every B block already packed (SharedBLength floats, laid out as BlockOffset says) with n0 = 0
    /// <summary>
    /// Computes the rectangle [m0, m1) × [n0, n1) of C, packing each B block itself, or reading the blocks from
    /// <paramref name="sharedB"/> when the threads of a split-M call packed them once between them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem problem, int m0, int m1, int n0, int n1, GemmWorkspace workspace, float* sharedB = null)
    {
        // At most MC rows (one A block): B packed panel by panel, just in time (see the class remarks)
        bool justInTime = sharedB is null && m1 - m0 <= MC && GemmPacking.PackPanelsJustInTime;
        if (justInTime) Interlocked.Increment(ref GemmPacking.OneRowBlockRuns);
        int mr = TKernel.MR, nr = TKernel.NR;
        int mcMax = MC, ncMax = NC, packedColumns = justInTime ? nr : ncMax;
        int kcMax = Math.Min(KC, problem.K);
        float* packedA = workspace.PackedA(kcMax * mcMax);
        float* packedB = sharedB is null ? workspace.PackedB(kcMax * packedColumns) : null;
        float* tile = workspace.Tile(mr * nr);
        int k2 = problem.K2; // the low-rank term A2·B2ᵀ rides on the last depth block, while each C tile is in L1
        float* packedA2 = k2 > 0 ? workspace.PackedA2(k2 * mcMax) : null;
        float* packedB2 = k2 > 0 ? workspace.PackedB2(k2 * packedColumns) : null;

        for (int j0 = n0; j0 < n1; j0 += ncMax)
        {
            int nc = Math.Min(ncMax, n1 - j0);
            for (int p0 = 0; p0 < problem.K; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, problem.K - p0);
                bool accumulate = problem.Accumulate || p0 > 0;
                bool lowRank = k2 > 0 && p0 + kc == problem.K;
                if (!justInTime)
                {
                    if (sharedB is null) GemmPacking.PackB(problem, j0, nc, p0, kc, nr, packedB, workspace);
                    else packedB = sharedB + BlockOffset(problem.K, j0, nc, p0);
                    if (lowRank) GemmPacking.PackRowPanels(problem.B2 + (nint)j0 * k2, k2, nc, k2, nr, packedB2);
                }
                for (int i0 = m0; i0 < m1; i0 += mcMax) // one pass when justInTime
                {
                    int mc = Math.Min(mcMax, m1 - i0);
                    GemmPacking.PackA(problem, i0, mc, p0, kc, mr, packedA);
                    if (lowRank) GemmPacking.PackRowPanels(problem.A2 + (nint)i0 * k2, k2, mc, k2, mr, packedA2);
                    for (int j = 0; j < nc; j += nr)
                    {
                        int cols = Math.Min(nr, nc - j);
                        float* bPanel = packedB + (nint)j * kc, b2Panel = packedB2 + (nint)j * k2;
                        var prefetch = default(PanelSourcePrefetch);
                        if (justInTime)
                        {
                            bPanel = packedB;
                            b2Panel = packedB2;
                            GemmPacking.PackB(problem, j0 + j, cols, p0, kc, nr, bPanel, workspace);
                            if (lowRank) GemmPacking.PackRowPanels(problem.B2 + (nint)(j0 + j) * k2, k2, cols, k2, nr, b2Panel);
                            prefetch = NextPanelSource(problem, n1, j0, nc, p0, kcMax, j);
                        }
                        RunPanel(problem, kc, packedA, bPanel, i0, mc, j0 + j, cols, accumulate,
                            lowRank ? packedA2 : null, lowRank ? b2Panel : null, tile, ref prefetch);
                    }
                }
            }
        }
    }

    // The source of the panel Run packs just in time after panel j of block (j0, p0): the next panel of the block,
    // else the first of the next depth block, else the first of the next column block (none past n1)
    private static PanelSourcePrefetch NextPanelSource(in GemmProblem problem, int n1, int j0, int nc, int p0, int kcMax, int j)
    {
        int nr = TKernel.NR, next = j + nr, block = j0, depth = p0;
        if (next >= nc)
        {
            next = 0;
            depth = p0 + kcMax;
            if (depth >= problem.K)
            {
                depth = 0;
                block = j0 + nc;
                if (block >= n1) return default;
            }
        }
        int width = Math.Min(NC, n1 - block);
        return PanelSourcePrefetch.For(problem, block + next, Math.Min(nr, width - next), depth, Math.Min(kcMax, problem.K - depth));
    }

    // aBlock: ⌈mc / MR⌉ packed panels of (kc, MR) for C rows [i0, i0 + mc)    bPanel: (kc, NR) for C columns
    // [column, column + cols)    a2Block, b2Panel: the low-rank factors packed alike (K2 deep), or null
    /// <summary>
    /// Runs the micro-kernel down one B panel: every MR-row tile of the block's rows, edge tiles through a scratch
    /// tile; before each tile it asks <paramref name="prefetch"/> for its share of the next panel's source.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunPanel(in GemmProblem problem, int kc, float* aBlock, float* bPanel, int i0, int mc, int column, int cols,
        bool accumulate, float* a2Block, float* b2Panel, float* tile, ref PanelSourcePrefetch prefetch)
    {
        int mr = TKernel.MR, nr = TKernel.NR, k2 = problem.K2;
        nint ldc = problem.N;
        int linesPerTile = prefetch.Remaining == 0 ? 0 : prefetch.Remaining / ((mc + mr - 1) / mr) + 1;
        for (int i = 0; i < mc; i += mr)
        {
            if (linesPerTile > 0) prefetch.Issue(linesPerTile);
            int rows = Math.Min(mr, mc - i);
            float* aPanel = aBlock + (nint)i * kc;
            float* c = problem.C + (i0 + i) * ldc + column;
            if (rows == mr && cols == nr)
            {
                TKernel.Run(kc, aPanel, bPanel, c, ldc, accumulate);
                if (b2Panel is not null) TKernel.Run(k2, a2Block + (nint)i * k2, b2Panel, c, ldc, accumulate: true);
            }
            else if (typeof(TKernel) == typeof(GemmMicroKernel512) && cols == nr && GemmMicroKernel512.RunsEdgeRows(rows))
            {
                GemmMicroKernel512.RunEdgeRows(rows, kc, aPanel, bPanel, c, ldc, accumulate);
                if (b2Panel is not null) GemmMicroKernel512.RunEdgeRows(rows, k2, a2Block + (nint)i * k2, b2Panel, c, ldc, accumulate: true);
            }
            else
            {
                TKernel.Run(kc, aPanel, bPanel, tile, nr, accumulate: false);
                ElementwiseKernels.StoreRows(tile, nr, c, ldc, rows, cols, accumulate);
                if (b2Panel is null) continue;
                TKernel.Run(k2, a2Block + (nint)i * k2, b2Panel, tile, nr, accumulate: false);
                ElementwiseKernels.StoreRows(tile, nr, c, ldc, rows, cols, accumulate: true);
            }
        }
    }

    /// <summary>Floats of every B block packed at once: K × N rounded up to whole NR panels.</summary>
    public static long SharedBLength(int n, int k) => (long)k * RoundUp(n, TKernel.NR);

    // shared B: the (KC × NC) blocks in the order Run visits them (columns j0 outer, depth p0 inner), each ⌈nc / NR⌉
    // panels of (kc, NR); every block before column j0 is NC wide, so column block j0 starts at j0·K
    /// <summary>Where the packed block at (p0, j0), nc columns wide, starts in a shared B.</summary>
    private static nint BlockOffset(int k, int j0, int nc, int p0) => (nint)j0 * k + (nint)p0 * RoundUp(nc, TKernel.NR);

    /// <summary>Pieces a shared B is packed in: each (KC × NC) block cut into <paramref name="slices"/> runs of panels.</summary>
    public static int SharedBPieces(int n, int k, int slices) =>
        (n + NC - 1) / NC * ((k + Math.Min(KC, k) - 1) / Math.Min(KC, k)) * slices;

    // piece = (column block, depth block, slice): slice s of the block's ⌈nc / NR⌉ panels, packed to its place in sharedB
    /// <summary>Packs piece <paramref name="piece"/> of a shared B (see <see cref="SharedBPieces"/>).</summary>
    public static void PackSharedBPiece(in GemmProblem problem, int piece, int slices, float* sharedB, GemmWorkspace workspace)
    {
        int nr = TKernel.NR, k = problem.K, kcMax = Math.Min(KC, k);
        int depthBlocks = (k + kcMax - 1) / kcMax;
        int slice = piece % slices, block = piece / slices;
        int j0 = block / depthBlocks * NC, p0 = block % depthBlocks * kcMax;
        int nc = Math.Min(NC, problem.N - j0), kc = Math.Min(kcMax, k - p0);
        int panels = (nc + nr - 1) / nr;
        int first = (int)((long)panels * slice / slices), last = (int)((long)panels * (slice + 1) / slices);
        if (first == last) return;
        int j = first * nr, cols = Math.Min(last * nr, nc) - j;
        GemmPacking.PackB(problem, j0 + j, cols, p0, kc, nr, sharedB + BlockOffset(k, j0, nc, p0) + (nint)j * kc, workspace);
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
