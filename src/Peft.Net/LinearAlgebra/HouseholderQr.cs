using System.Numerics.Tensors;

namespace Peft.Net.LinearAlgebra;

/// <summary>
/// The leading part <c>Q[:, :r]·R[:r, :]</c> of the QR decomposition <c>W = Q·R</c> of a float32 [M, N] matrix, by
/// r Householder reflections in double precision. When W's first r columns are linearly independent (any trained
/// weight) that product is the orthogonal projection of W onto their span, so it does not depend on the sign convention
/// of a QR routine (LAPACK's, PyTorch's or this one): OLoRA's base rewrite <c>W − scaling·Q_r·R_r</c> comes out the same.
/// (A column with nothing left to reflect is skipped, as LAPACK's <c>larfg</c> does for a zero vector.) Only r reflections are needed (the later ones never
/// touch R's first r rows), so the cost is O(M·N·r).
/// </summary>
internal static class HouseholderQr
{
    /// <summary>The factors Q_r and R_r of <c>W = Q·R</c>: columns of Q_r and rows of R_r, sign as this routine chose.</summary>
    /// <param name="QrT">[r, M] row-major: row t is column t of Q (orthonormal).</param>
    /// <param name="Rr">[r, N] row-major: the first r rows of R (upper triangular: <c>Rr[t, c] = 0</c> for c &lt; t).</param>
    internal readonly record struct Leading(double[] QrT, double[] Rr);

    // matrix: (M, N) → Q_r (as [r, M]) and R_r [r, N]; r ≤ min(M, N)
    public static Leading Factor(ReadOnlySpan<float> matrix, int m, int n, int r)
    {
        if (m <= 0 || n <= 0 || matrix.Length != m * n)
            throw new ArgumentException($"HouseholderQr: a [{m}, {n}] matrix needs {(long)m * n} values; got {matrix.Length}.");
        if (r <= 0 || r > Math.Min(m, n))
            throw new ArgumentException($"HouseholderQr: r = {r} must be in [1, min({m}, {n})].");
        // cols [N, M]: column c of W is the contiguous row c, so every reflection works on contiguous spans.
        var cols = new double[n * m];
        for (int i = 0; i < m; i++)
            for (int c = 0; c < n; c++)
                cols[c * m + i] = matrix[i * n + c];
        // vs [r, M]: reflector t is H_t = I − 2·v·vᵀ with ‖v‖ = 1, v zero above row t (a zero v is the identity).
        var vs = new double[r * m];
        for (int t = 0; t < r; t++)
        {
            var x = cols.AsSpan(t * m + t, m - t);
            var v = vs.AsSpan(t * m + t, m - t);
            double norm = Math.Sqrt(TensorPrimitives.Dot<double>(x, x));
            if (norm == 0) continue;   // a zero column: R[t, t] = 0, no reflection
            double alpha = x[0] >= 0 ? -norm : norm;   // H·x = alpha·e₀, the sign that avoids cancellation
            x.CopyTo(v);
            v[0] -= alpha;
            double vNorm = Math.Sqrt(TensorPrimitives.Dot<double>(v, v));
            TensorPrimitives.Divide(v, vNorm, v);
            for (int c = t; c < n; c++)
            {
                var col = cols.AsSpan(c * m + t, m - t);
                double dot = 2 * TensorPrimitives.Dot<double>(v, col);
                TensorPrimitives.MultiplyAdd(v, -dot, col, col);   // col −= 2·(v·col)·v
            }
            x[0] = alpha;
            x[1..].Clear();
        }
        var rr = new double[r * n];
        for (int t = 0; t < r; t++)
            for (int c = t; c < n; c++)
                rr[t * n + c] = cols[c * m + t];
        // Q_r = H_0·H_1·…·H_{r−1}·[I_r; 0]: apply the reflections to e_t in reverse order.
        var qT = new double[r * m];
        for (int t = 0; t < r; t++)
        {
            var q = qT.AsSpan(t * m, m);
            q[t] = 1;
            for (int h = Math.Min(t, r - 1); h >= 0; h--)
            {
                var v = vs.AsSpan(h * m + h, m - h);
                var part = q[h..];
                double dot = 2 * TensorPrimitives.Dot<double>(v, part);
                if (dot != 0) TensorPrimitives.MultiplyAdd(v, -dot, part, part);
            }
        }
        return new Leading(qT, rr);
    }

    // matrix: (M, N) → (M, N) = Q[:, :r]·R[:r, :], the projection of the matrix onto the span of its first r columns
    public static double[] LeadingProduct(ReadOnlySpan<float> matrix, int m, int n, int r)
    {
        var (qT, rr) = Factor(matrix, m, n, r);
        var product = new double[m * n];
        for (int t = 0; t < r; t++)
        {
            var row = rr.AsSpan(t * n, n);
            for (int i = 0; i < m; i++)
            {
                double q = qT[t * m + i];
                if (q != 0) TensorPrimitives.MultiplyAdd(row, q, product.AsSpan(i * n, n), product.AsSpan(i * n, n));
            }
        }
        return product;
    }
}
