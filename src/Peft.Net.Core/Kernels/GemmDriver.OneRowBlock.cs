using System.Runtime.CompilerServices;

namespace Peft.Net.Core.Kernels;

internal static unsafe partial class GemmDriver<TKernel>
{
    // C rows [m0, m1) (at most MC of them) × columns [n0, n1) of problem.C: (M, N)
    /// <summary>
    /// <see cref="Run"/> for a rectangle of at most <see cref="MC"/> rows (a prefill, a small batch), where each packed
    /// B panel serves only ⌈rows / MR⌉ tiles: the one A block is packed per depth block as before, but B is packed one
    /// (KC × NR) panel at a time, just before its tiles run, while those tiles ask for the next panel's source a few
    /// cache lines at a time (<see cref="PanelSourcePrefetch"/>). A weight read cold from memory then streams in behind
    /// the multiply-adds instead of stalling the packing, and the packed panel is still in L1 when the tiles read it.
    /// <code>
    /// for j0 in columns step NC:
    ///   for p0 in 0..K step KC:
    ///     pack A[m0.., p0..]
    ///     for each NR panel j:  pack B panel j; run its tiles, asking for panel j+1's source between them
    /// </code>
    /// Every tile runs the micro-kernel on the same packed values in the same depth order as in <see cref="Run"/>'s
    /// block order: the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunOneRowBlock(in GemmProblem problem, int m0, int m1, int n0, int n1, GemmWorkspace workspace)
    {
        Interlocked.Increment(ref GemmPacking.OneRowBlockRuns);
        int mr = TKernel.MR, nr = TKernel.NR, mc = m1 - m0;
        int kcMax = Math.Min(KC, problem.K);
        float* packedA = workspace.PackedA(kcMax * MC);
        float* panel = workspace.PackedB(kcMax * nr);
        float* tile = workspace.Tile(mr * nr);
        int k2 = problem.K2;
        float* packedA2 = k2 > 0 ? workspace.PackedA2(k2 * MC) : null;
        float* panelB2 = k2 > 0 ? workspace.PackedB2(k2 * nr) : null;

        for (int j0 = n0; j0 < n1; j0 += NC)
        {
            int nc = Math.Min(NC, n1 - j0);
            for (int p0 = 0; p0 < problem.K; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, problem.K - p0);
                bool accumulate = problem.Accumulate || p0 > 0;
                bool lowRank = k2 > 0 && p0 + kc == problem.K;
                GemmPacking.PackA(problem, m0, mc, p0, kc, mr, packedA);
                if (lowRank) GemmPacking.PackRowPanels(problem.A2 + (nint)m0 * k2, k2, mc, k2, mr, packedA2);
                for (int j = 0; j < nc; j += nr)
                {
                    int cols = Math.Min(nr, nc - j);
                    GemmPacking.PackB(problem, j0 + j, cols, p0, kc, nr, panel, workspace);
                    if (lowRank) GemmPacking.PackRowPanels(problem.B2 + (nint)(j0 + j) * k2, k2, cols, k2, nr, panelB2);
                    var next = NextPanelSource(problem, n1, j0, nc, p0, kcMax, j);
                    RunPanel(problem, kc, packedA, panel, m0, mc, j0 + j, cols, accumulate,
                        lowRank ? packedA2 : null, lowRank ? panelB2 : null, tile, ref next);
                }
            }
        }
    }

    // The source of the panel RunOneRowBlock packs after panel j of block (j0, p0): the next panel of the block, else
    // the first of the next depth block, else the first of the next column block (none past n1)
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
}
