using System.Numerics.Tensors;
using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.LinearAlgebra;

/// <summary>
/// The <c>rank</c> leading singular triplets of a float32 [M, N] matrix by block subspace iteration (Halko, Martinsson
/// and Tropp 2011, algorithm 4.4, as <c>torch.svd_lowrank</c>): a Gaussian test matrix, power iterations with the basis
/// re-orthonormalised after every product, then the SVD of the small projected matrix (Rayleigh–Ritz).
/// </summary>
/// <remarks>
/// <para>The products with W — 2 per iteration, each 2·M·N·q FLOPs for a block of q vectors — run on the engine's
/// GEMM (<see cref="Gemm"/>, float32, parallel); the bases are orthonormalised in double (<see cref="RowOrthonormalizer"/>)
/// and the q×q problem is solved by the one-sided Jacobi SVD (<see cref="ThinSvd"/>). Every step is bit-identical
/// for any thread count, so a result depends only on the matrix and the generator's seed.</para>
/// <para>Block size: q = rank + p with oversampling p = max(rank, 8), at most min(M, N). <c>torch.svd_lowrank(W, q=r)</c>
/// (PEFT's <c>pissa_niter_K</c>) uses no oversampling; with it the r-th vector converges like
/// (σ_{q+1}/σ_r)^(2K+1) instead of (σ_{r+1}/σ_r)^(2K+1), for a cost that is still small next to W_res's update.</para>
/// </remarks>
internal static class TruncatedSvd
{
    /// <summary>The smallest oversampling p (extra vectors beyond the rank).</summary>
    public const int MinOversampling = 8;

    /// <summary><see cref="Leading"/> stops when every residual ‖W·vᵢ − σᵢ·uᵢ‖ is at most this times ‖W‖_F (float32's rounding of W is 2⁻²⁴·‖W‖_F).</summary>
    public const double ResidualTolerance = 1e-6;

    /// <summary><see cref="Leading"/>'s iterations per block size before it doubles the block.</summary>
    public const int MaxIterationsPerBlock = 60;

    /// <summary><see cref="Leading"/> uses the Jacobi SVD directly up to this min(M, N).</summary>
    public const int JacobiMaxSize = 96;

    /// <summary>The seed of <see cref="Leading"/>'s start block: the exact path is deterministic without a user seed.</summary>
    private const ulong LeadingSeed = 0x5EED_0F_51C0UL;

    /// <summary>The leading singular triplets, values in descending order.</summary>
    /// <param name="U">[M, Rank] row-major, orthonormal columns.</param>
    /// <param name="S">[Rank] singular values, descending, ≥ 0.</param>
    /// <param name="Vt">[Rank, N] row-major, orthonormal rows.</param>
    /// <param name="M">Rows of the decomposed matrix.</param>
    /// <param name="N">Columns of the decomposed matrix.</param>
    /// <param name="Rank">Triplets kept.</param>
    /// <param name="Iterations">Power iterations run (at the final block size).</param>
    /// <param name="Block">q: the vectors iterated (rank plus oversampling; min(M, N) for the Jacobi path).</param>
    /// <param name="Converged">For <see cref="Leading"/>: every residual reached <see cref="ResidualTolerance"/>.</param>
    internal readonly record struct Result(double[] U, double[] S, double[] Vt, int M, int N, int Rank, int Iterations, int Block, bool Converged);

    /// <summary>The block size q = rank + max(rank, 8), capped at min(M, N).</summary>
    public static int BlockSize(int m, int n, int rank) => (int)Math.Min(Math.Min(m, n), (long)rank + Math.Max(rank, MinOversampling));

    // matrix: (M, N) → U (M, R), S (R), Vt (R, N)
    /// <summary>
    /// PEFT's <c>pissa_niter_K</c> (<c>torch.svd_lowrank(W, q, niter=K)</c>): exactly <paramref name="powerIterations"/>
    /// power iterations from a Gaussian block drawn from <paramref name="random"/>.
    /// </summary>
    public static Result Randomized(ReadOnlySpan<float> matrix, int m, int n, int rank, int powerIterations, TensorRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(powerIterations);
        Check(matrix.Length, m, n, rank);
        CheckFinite(matrix);
        int q = BlockSize(m, n, rank);
        return Iterate(matrix, m, n, rank, Gaussian(q, n, random), q, powerIterations, tolerance: null);
    }

    // matrix: (M, N) → U (M, R), S (R), Vt (R, N)
    /// <summary>
    /// The leading triplets to float32 accuracy (PEFT's exact <c>"pissa"</c>): the Jacobi SVD for small matrices,
    /// otherwise subspace iteration from a fixed-seed block until every Ritz residual ‖W·vᵢ − σᵢ·uᵢ‖ ≤
    /// <see cref="ResidualTolerance"/>·‖W‖_F, doubling the block when <see cref="MaxIterationsPerBlock"/> iterations
    /// do not get there (at q = min(M, N) the block spans W's whole range and the first check passes).
    /// </summary>
    public static Result Leading(ReadOnlySpan<float> matrix, int m, int n, int rank)
    {
        Check(matrix.Length, m, n, rank);
        int p = Math.Min(m, n);
        int q = BlockSize(m, n, rank);
        double norm = CheckFinite(matrix);
        if (norm == 0) return Iterate(matrix, m, n, rank, new float[q * n], q, iterations: 0, tolerance: null);   // all zeros
        if (p <= JacobiMaxSize || 2 * q >= p) return FromJacobi(ThinSvd.Compute(matrix, m, n), rank);
        double tolerance = ResidualTolerance * norm;
        while (true)
        {
            var result = Iterate(matrix, m, n, rank, Gaussian(q, n, new TensorRandom(LeadingSeed)), q, MaxIterationsPerBlock, tolerance);
            if (result.Converged || q == p) return result;
            q = Math.Min(p, 2 * q);
        }
    }

    private static void Check(int length, int m, int n, int rank)
    {
        if (m <= 0 || n <= 0 || length != (long)m * n)
            throw new ArgumentException($"TruncatedSvd: a [{m}, {n}] matrix needs {(long)m * n} values; got {length}.");
        if (rank <= 0 || rank > Math.Min(m, n))
            throw new ArgumentOutOfRangeException(nameof(rank), $"TruncatedSvd: rank must be in [1, {Math.Min(m, n)}] for a [{m}, {n}] matrix; got {rank}.");
    }

    // → Ωᵀ (Q, N), standard normal, drawn row by row from the generator
    private static float[] Gaussian(int q, int n, TensorRandom random)
    {
        var omega = new float[q * n];
        for (int i = 0; i < omega.Length; i++) omega[i] = (float)random.NextGaussian();
        return omega;
    }

    // w: (M, N), omegaT: (Q, N). tolerance null: exactly `iterations` power iterations; otherwise stop at a residual
    // ≤ tolerance or after `iterations`
    private static Result Iterate(ReadOnlySpan<float> w, int m, int n, int rank, float[] omegaT, int q, int iterations, double? tolerance)
    {
        var qt = new double[q * m];     // Qᵀ (Q, M): orthonormal basis of W's range, one vector a row
        var qtF = new float[q * m];
        var yF = new float[q * m];      // (W·Xᵀ)ᵀ (Q, M) for the current right block X
        var pt = new double[q * n];     // Pᵀ (Q, N): B = Qᵀ·W = L·Pᵀ, the right basis
        var ptF = new float[q * n];
        var l = new double[q * q];      // L (Q, Q) lower-triangular
        Gemm.Multiply(omegaT, false, w, true, yF, q, m, n, accumulate: false);   // (W·Ω)ᵀ = Ωᵀ·Wᵀ
        Orthonormalize(yF, qt, qtF, q, m, null);
        for (int it = 0; ; it++)
        {
            Gemm.Multiply(qtF, false, w, false, ptF, q, n, m, accumulate: false);   // B = Qᵀ·W (Q, N)
            Orthonormalize(ptF, pt, ptF, q, n, l);                                 // B = L·Pᵀ
            if (tolerance is null && it == iterations) return Finish(ThinSvd.Compute(l, q, q), qt, pt, m, n, rank, it, converged: false);
            Gemm.Multiply(ptF, false, w, true, yF, q, m, n, accumulate: false);    // (W·P)ᵀ = Pᵀ·Wᵀ (Q, M)
            if (tolerance is double limit)
            {
                var small = ThinSvd.Compute(l, q, q);
                bool converged = MaxResidual(small, yF, qt, q, m, rank) <= limit;
                if (converged || it + 1 >= iterations) return Finish(small, qt, pt, m, n, rank, it, converged);
            }
            Orthonormalize(yF, qt, qtF, q, m, null);
        }
    }

    // source: (Q, L) float → rows: (Q, L) orthonormal, in double and rounded to float; l: (Q, Q) or null
    private static void Orthonormalize(float[] source, double[] rows, float[] rowsF, int q, int length, double[]? l)
    {
        for (int i = 0; i < rows.Length; i++) rows[i] = source[i];
        RowOrthonormalizer.Orthonormalize(rows, q, length, l);
        for (int i = 0; i < rows.Length; i++) rowsF[i] = (float)rows[i];
    }

    // small: L = Ul·diag(σ)·Vlᵀ (Q, Q); yF: (W·P)ᵀ (Q, M); qt: (Q, M) → max over i < rank of ‖W·vᵢ − σᵢ·uᵢ‖, vᵢ = P·Vl[:, i], uᵢ = Q·Ul[:, i]
    private static double MaxResidual(ThinSvd.Result small, float[] yF, double[] qt, int q, int m, int rank)
    {
        var difference = new double[m];
        double worst = 0;
        for (int i = 0; i < rank; i++)
        {
            difference.AsSpan().Clear();
            for (int j = 0; j < q; j++)
            {
                double v = small.Vt[i * q + j], u = small.U[j * q + i] * small.S[i];
                var y = yF.AsSpan(j * m, m);
                var basis = qt.AsSpan(j * m, m);
                for (int o = 0; o < m; o++) difference[o] += v * y[o] - u * basis[o];
            }
            worst = Math.Max(worst, Math.Sqrt(TensorPrimitives.Dot<double>(difference, difference)));
        }
        return worst;
    }

    // small: L = Ul·diag(σ)·Vlᵀ; W ≈ Q·L·Pᵀ → U = Q·Ul (M, R), Vᵀ = Vlᵀ·Pᵀ (R, N)
    private static Result Finish(ThinSvd.Result small, double[] qt, double[] pt, int m, int n, int rank, int iterations, bool converged)
    {
        int q = small.P;
        var ut = new double[rank * m];
        var vt = new double[rank * n];
        for (int i = 0; i < rank; i++)
            for (int j = 0; j < q; j++)
            {
                TensorPrimitives.MultiplyAdd(qt.AsSpan(j * m, m), small.U[j * q + i], ut.AsSpan(i * m, m), ut.AsSpan(i * m, m));
                TensorPrimitives.MultiplyAdd(pt.AsSpan(j * n, n), small.Vt[i * q + j], vt.AsSpan(i * n, n), vt.AsSpan(i * n, n));
            }
        var u = new double[m * rank];
        for (int i = 0; i < rank; i++)
            for (int o = 0; o < m; o++) u[o * rank + i] = ut[i * m + o];
        return new Result(u, small.S[..rank], vt, m, n, rank, iterations, q, converged);
    }

    private static Result FromJacobi(ThinSvd.Result full, int rank)
    {
        int m = full.M, n = full.N, p = full.P;
        var u = new double[m * rank];
        for (int o = 0; o < m; o++) full.U.AsSpan(o * p, rank).CopyTo(u.AsSpan(o * rank, rank));
        return new Result(u, full.S[..rank], full.Vt[..(rank * n)], m, n, rank, Iterations: 0, Block: p, Converged: true);
    }

    // → ‖matrix‖_F
    private static double CheckFinite(ReadOnlySpan<float> matrix)
    {
        double sum = 0;
        foreach (float x in matrix) sum += (double)x * x;
        if (!double.IsFinite(sum))   // float squares cannot overflow double: a NaN or an infinity
            throw new ArgumentException("TruncatedSvd: the matrix has a NaN or infinite value.");
        return Math.Sqrt(sum);
    }
}
