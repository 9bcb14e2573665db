using System.Numerics.Tensors;

namespace Peft.Net.LinearAlgebra;

/// <summary>
/// Thin singular value decomposition <c>A = U·diag(S)·Vt</c> of a float32 [M, N] matrix by one-sided (Hestenes)
/// Jacobi rotations in double precision: accurate to a few ulps of double for every singular value, which is what
/// PiSSA's initialisation needs. Costs O(sweeps · P²·Q) for P = min(M, N), Q = max(M, N); fine for layer-sized
/// matrices at initialisation time, not meant for a hot loop.
/// </summary>
internal static class ThinSvd
{
    private const int MaxSweeps = 60;

    /// <summary>The factors of a thin SVD, singular values in descending order.</summary>
    /// <param name="U">[M, P] row-major, orthonormal columns (a column is zero when its singular value is 0).</param>
    /// <param name="S">[P] singular values, descending, ≥ 0.</param>
    /// <param name="Vt">[P, N] row-major, orthonormal rows (a row is zero when its singular value is 0 and M &lt; N).</param>
    /// <param name="M">Rows of the decomposed matrix.</param>
    /// <param name="N">Columns of the decomposed matrix.</param>
    internal readonly record struct Result(double[] U, double[] S, double[] Vt, int M, int N)
    {
        /// <summary>P = min(M, N).</summary>
        public int P => Math.Min(M, N);
    }

    // matrix: (M, N) → U (M, P), S (P), Vt (P, N)
    public static Result Compute(ReadOnlySpan<float> matrix, int m, int n)
    {
        CheckSize(matrix.Length, m, n);
        var widened = new double[matrix.Length];
        for (int i = 0; i < widened.Length; i++) widened[i] = matrix[i];
        return Compute(widened, m, n);
    }

    // matrix: (M, N) → U (M, P), S (P), Vt (P, N); the same decomposition of a double matrix (the small problems of TruncatedSvd)
    public static Result Compute(ReadOnlySpan<double> matrix, int m, int n)
    {
        CheckSize(matrix.Length, m, n);
        bool wide = m < n;
        int p = Math.Min(m, n), q = Math.Max(m, n);
        // X [P, Q]: rows to orthogonalise. Tall A: X = Aᵀ (A's columns). Wide A: X = A (A's rows).
        var x = new double[p * q];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                x[wide ? i * n + j : j * m + i] = matrix[i * n + j];
        return Decompose(x, m, n);
    }

    private static void CheckSize(int length, int m, int n)
    {
        if (m <= 0 || n <= 0 || length != (long)m * n)
            throw new ArgumentException($"ThinSvd: a [{m}, {n}] matrix needs {(long)m * n} values; got {length}.");
    }

    // x: (P, Q) the rows to orthogonalise (consumed) → U (M, P), S (P), Vt (P, N)
    private static Result Decompose(double[] x, int m, int n)
    {
        bool wide = m < n;
        int p = Math.Min(m, n), q = Math.Max(m, n);
        // R [P, P] accumulates the rotations: R·X₀ = X (rows orthogonal), so X₀ = Rᵀ·X.
        var r = new double[p * p];
        for (int i = 0; i < p; i++) r[i * p + i] = 1;

        Orthogonalise(x, r, p, q);

        var norms = new double[p];
        for (int i = 0; i < p; i++) norms[i] = Math.Sqrt(TensorPrimitives.Dot<double>(x.AsSpan(i * q, q), x.AsSpan(i * q, q)));
        var order = Enumerable.Range(0, p).OrderByDescending(i => norms[i]).ToArray();

        // Rows of X / σ are orthonormal: X₀ = Rᵀ·diag(σ)·Ũ. Tall: Aᵀ = X₀ → A = Ũᵀ·diag(σ)·R. Wide: A = Rᵀ·diag(σ)·Ũ.
        var s = new double[p];
        var u = new double[m * p];
        var vt = new double[p * n];
        for (int c = 0; c < p; c++)
        {
            int i = order[c];
            double sigma = norms[i];
            s[c] = sigma;
            double inverse = sigma > 0 ? 1 / sigma : 0;
            if (wide)
            {
                for (int j = 0; j < n; j++) vt[c * n + j] = x[i * q + j] * inverse;
                for (int row = 0; row < m; row++) u[row * p + c] = r[i * p + row];
            }
            else
            {
                for (int row = 0; row < m; row++) u[row * p + c] = x[i * q + row] * inverse;
                for (int j = 0; j < n; j++) vt[c * n + j] = r[i * p + j];
            }
        }
        return new Result(u, s, vt, m, n);
    }

    // x: (P, Q), r: (P, P) — rotates pairs of rows of x (and of r) until all rows of x are orthogonal
    private static void Orthogonalise(double[] x, double[] r, int p, int q)
    {
        var squares = new double[p];
        const double tolerance = 1e-15;
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            // Exact squared norms once per sweep; within a sweep they follow the rotations' closed form.
            for (int i = 0; i < p; i++) squares[i] = TensorPrimitives.Dot<double>(x.AsSpan(i * q, q), x.AsSpan(i * q, q));
            bool rotated = false;
            for (int i = 0; i < p - 1; i++)
            {
                for (int j = i + 1; j < p; j++)
                {
                    var xi = x.AsSpan(i * q, q);
                    var xj = x.AsSpan(j * q, q);
                    double alpha = squares[i], beta = squares[j];
                    double gamma = TensorPrimitives.Dot<double>(xi, xj);
                    if (gamma == 0 || Math.Abs(gamma) <= tolerance * Math.Sqrt(alpha * beta)) continue;
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = (zeta >= 0 ? 1 : -1) / (Math.Abs(zeta) + Math.Sqrt(1 + zeta * zeta));
                    double c = 1 / Math.Sqrt(1 + t * t), s = c * t;
                    JacobiRotation.Apply(xi, xj, c, s);
                    JacobiRotation.Apply(r.AsSpan(i * p, p), r.AsSpan(j * p, p), c, s);
                    squares[i] = alpha - t * gamma;
                    squares[j] = beta + t * gamma;
                }
            }
            if (!rotated) return;
        }
    }
}
