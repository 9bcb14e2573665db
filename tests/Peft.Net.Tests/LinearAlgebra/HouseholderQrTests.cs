using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Tests.LinearAlgebra;

public class HouseholderQrTests
{
    private static double Dot(double[] a, double[] b) => a.Zip(b).Sum(p => p.First * p.Second);

    private static double[] Column(ReadOnlySpan<float> w, int m, int n, int c)
    {
        var col = new double[m];
        for (int i = 0; i < m; i++) col[i] = w[i * n + c];
        return col;
    }

    [Theory]
    [InlineData(16, 16, 4)]
    [InlineData(24, 16, 4)]   // tall, as up_proj
    [InlineData(16, 24, 4)]   // wide, as down_proj
    [InlineData(7, 3, 3)]
    [InlineData(3, 7, 3)]
    [InlineData(5, 5, 1)]
    public void FactorsAreOrthonormalAndTriangularAndTheProductIsTheProjectionOntoTheFirstColumns(int m, int n, int r)
    {
        var w = Tensor.Normal([m, n], 0, 1, new TensorRandom((ulong)(m * 131 + n * 7 + r))).ToArray();
        var (qT, rr) = HouseholderQr.Factor(w, m, n, r);
        for (int a = 0; a < r; a++)
        {
            for (int b = 0; b < r; b++)
            {
                double qq = Dot(qT[(a * m)..((a + 1) * m)], qT[(b * m)..((b + 1) * m)]);
                Assert.True(Math.Abs(qq - (a == b ? 1 : 0)) < 1e-12, $"QᵀQ[{a},{b}] = {qq}");
            }
            for (int c = 0; c < a; c++) Assert.Equal(0, rr[a * n + c]);   // R is upper triangular
        }

        var p = HouseholderQr.LeadingProduct(w, m, n, r);
        var firstColumns = Enumerable.Range(0, r).Select(c => Column(w, m, n, c)).ToList();
        for (int c = 0; c < n; c++)
        {
            var residual = Enumerable.Range(0, m).Select(i => w[i * n + c] - p[i * n + c]).ToArray();
            // The first r columns lie in their own span: nothing is left of them.
            if (c < r) Assert.True(residual.All(v => Math.Abs(v) < 1e-12), $"column {c} is not reproduced");
            // What is left of any column is orthogonal to that span.
            foreach (var basis in firstColumns)
                Assert.True(Math.Abs(Dot(residual, basis)) < 1e-10, $"the residual of column {c} is not orthogonal to the first {r} columns");
        }
        if (r == Math.Min(m, n) && m <= n)   // r = m columns span everything: the projection is the matrix itself
            for (int i = 0; i < m * n; i++) Assert.True(Math.Abs(p[i] - w[i]) < 1e-12, $"P[{i}] = {p[i]}, W = {w[i]}");
    }

    [Fact]
    public void AZeroLeadingColumnGivesNoNaNAndStillReproducesTheLeadingColumns()
    {
        // W = [0 | u | v]: column 0 has no direction, so (as in LAPACK) Q's first column is e₀ and the product is the
        // projection onto span(e₀, u) — convention-dependent only for such rank-deficient leading columns.
        float[] w = [0, 1, 2, 0, 2, 1, 0, 0, 3];   // [3, 3]
        var (qT, rr) = HouseholderQr.Factor(w, 3, 3, 2);
        var p = HouseholderQr.LeadingProduct(w, 3, 3, 2);
        Assert.All(p, v => Assert.True(double.IsFinite(v)));
        Assert.All(qT.Concat(rr), v => Assert.True(double.IsFinite(v)));
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 2; c++)
                Assert.Equal(w[i * 3 + c], p[i * 3 + c], 12);
        var residual = Enumerable.Range(0, 3).Select(i => w[i * 3 + 2] - p[i * 3 + 2]).ToArray();
        for (int t = 0; t < 2; t++) Assert.Equal(0, Dot(residual, qT[(t * 3)..((t + 1) * 3)]), 12);
    }

    [Fact]
    public void ARankBeyondTheSmallerDimensionIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => HouseholderQr.Factor(new float[12], 3, 4, 4));
        Assert.Contains("r = 4 must be in [1, min(3, 4)]", e.Message);
    }
}
