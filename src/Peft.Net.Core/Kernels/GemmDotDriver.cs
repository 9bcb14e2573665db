using System.Runtime.CompilerServices;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The loops of the dot-product GEMM (<see cref="GemmDotKernel"/>) over a rectangle of C, for thin products with
/// A not transposed: op(A) rows are read in place (no packing of the large operand); Bᵀ is read in place when B is
/// stored (N, K), and otherwise built one (NB × KB) block at a time (transposed, or decoded from a weight). A few rows
/// of C with A transposed and B dense (K, N) run on <see cref="GemmOuterKernel"/>, B read in place.
/// </summary>
internal static unsafe class GemmDotDriver<TVector>
    where TVector : struct, IFloatVector<TVector>
{
    /// <summary>Depth of one Bᵀ block.</summary>
    public const int KB = 2048;

    /// <summary>Rows of Bᵀ (columns of C) per block; a multiple of <see cref="GemmDotKernel.Columns"/>.</summary>
    public const int NB = 16;


    // C rows [m0, m1) × columns [n0, n1) of problem.C: (M, N); problem.A: (M, K), not transposed
    /// <summary>Computes the rectangle [m0, m1) × [n0, n1) of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem problem, int m0, int m1, int n0, int n1, GemmWorkspace workspace)
    {
        if (problem.TransA)
        {
            RunTransposedA(problem, m0, m1, n0, n1, workspace);
            return;
        }
        int k = problem.K;
        nint lda = k, ldc = problem.N;
        bool inPlace = problem.Weight is null && problem.TransB; // B: (N, K) already holds Bᵀ's rows
        int kbMax = inPlace ? k : Math.Min(KB, k);
        // 8 columns at a time on the 2×8 tile where AVX-512 gives it its 32 registers (same bits as two 2×4 tiles)
        bool wide = typeof(TVector) == typeof(FloatVector512) && GemmDotKernel.WideTileIsSupported && !GemmDotKernel.UseNarrowTilesForTests
            && problem.M > Gemm.MatrixVectorRows && n1 - n0 >= GemmDotKernel.WideColumns;
        if (wide) Interlocked.Increment(ref GemmDotKernel.WideTileRuns);
        float* packed = inPlace ? null : workspace.PackedB(NB * kbMax);
        for (int j0 = n0; j0 < n1; j0 += NB)
        {
            int nb = Math.Min(NB, n1 - j0);
            for (int p0 = 0; p0 < k; p0 += kbMax)
            {
                int kb = Math.Min(kbMax, k - p0);
                float* bt = packed;
                nint ldb = kb;
                if (inPlace)
                {
                    bt = problem.B + (nint)j0 * k + p0;
                    ldb = k;
                }
                else PackTransposedB(problem, j0, nb, p0, kb, packed, workspace);
                bool accumulate = problem.Accumulate || p0 > 0;
                for (int i = m0; i < m1; i += GemmDotKernel.Rows)
                {
                    int rows = Math.Min(GemmDotKernel.Rows, m1 - i);
                    float* a = problem.A + i * lda + p0;
                    float* c = problem.C + i * ldc + j0;
                    if (rows == 1) // a single row of A (matrix-vector): Bᵀ streamed row after row
                        GemmDotKernel.Row<TVector>(kb, a, bt, ldb, c, nb, accumulate);
                    else if (problem.M <= Gemm.MatrixVectorRows) // a few rows (a small decoding batch): Bᵀ streamed, pair by pair
                        GemmDotKernel.RowPair<TVector>(kb, a, lda, bt, ldb, c, ldc, nb, accumulate);
                    else
                    {
                        int j = 0;
                        if (wide)
                            for (; j <= nb - GemmDotKernel.WideColumns; j += GemmDotKernel.WideColumns) // 8 columns: one pass over the rows of A
                                GemmDotKernel.WideTile512(kb, a, lda, bt + j * ldb, ldb, c + j, ldc, rows, accumulate);
                        for (; j < nb; j += GemmDotKernel.Columns)
                            GemmDotKernel.Tile<TVector>(kb, a, lda, bt + j * ldb, ldb, c + j, ldc,
                                rows, Math.Min(GemmDotKernel.Columns, nb - j), accumulate);
                    }
                }
            }
        }
    }

    // problem.A: (K, M), op(A) = Aᵀ    problem.B: (K, N) dense    C rows [m0, m1) × columns [n0, n1), in groups of Rows
    /// <summary>C (+)= Aᵀ·B over the rectangle, <see cref="GemmOuterKernel.Rows"/> rows of C per pass over B.</summary>
    private static void RunTransposedA(in GemmProblem problem, int m0, int m1, int n0, int n1, GemmWorkspace workspace)
    {
        const int group = GemmOuterKernel.Rows;
        int k = problem.K;
        nint lda = problem.M, ldc = problem.N;
        for (int i = m0; i < m1; i += group)
        {
            int rows = Math.Min(group, m1 - i);
            float* a = problem.A + i;
            nint ld = lda;
            if (i + group > problem.M) // the kernel reads Rows columns of A: copy the last ones, zero-padded, to (K, Rows)
            {
                float* padded = workspace.Scratch(k * group);
                for (int p = 0; p < k; p++)
                    for (int r = 0; r < group; r++) padded[p * group + r] = r < rows ? a[p * lda + r] : 0f;
                a = padded;
                ld = group;
            }
            GemmOuterKernel.Columns<TVector>(k, rows, a, ld, problem.B, problem.N, problem.C + i * ldc, ldc, n0, n1,
                problem.Accumulate, workspace.Sums(GemmOuterKernel.SumsLength));
        }
    }

    // op(B) block k range [p0, p0 + kb) × columns [j0, j0 + nb) → dst: (nb, kb) = the block of Bᵀ
    private static void PackTransposedB(in GemmProblem problem, int j0, int nb, int p0, int kb, float* dst, GemmWorkspace workspace)
    {
        var weight = problem.Weight;
        if (weight is null) // B: (K, N)
            GemmPacking.PackRows(problem.B + (nint)p0 * problem.N + j0, problem.N, kb, nb, kb, dst);
        else if (problem.TransB) // W: (N, K): its rows are Bᵀ's rows
            weight.DecodeTile(j0, nb, p0, kb, new Span<float>(dst, nb * kb), kb);
        else // W: (K, N): decode the (kb × nb) tile, then transpose it
        {
            float* scratch = workspace.Scratch(kb * nb);
            weight.DecodeTile(p0, kb, j0, nb, new Span<float>(scratch, kb * nb), nb);
            GemmPacking.PackRows(scratch, nb, kb, nb, kb, dst);
        }
    }
}
