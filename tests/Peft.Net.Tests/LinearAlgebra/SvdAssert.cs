using Peft.Net.LinearAlgebra;

namespace Peft.Net.Tests.LinearAlgebra;

/// <summary>Comparisons of a truncated SVD with the exact one: principal angles between subspaces, orthonormality.</summary>
internal static class SvdAssert
{
    /// <summary>sin of the largest principal angle between span(U_exact[:, :r]) and span(U).</summary>
    public static double LeftSine(ThinSvd.Result exact, TruncatedSvd.Result svd)
    {
        int r = svd.Rank, p = exact.P, m = svd.M;
        var overlap = new double[r * r];   // U_exactᵀ·U (r, r)
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++)
            {
                double sum = 0;
                for (int i = 0; i < m; i++) sum += exact.U[i * p + a] * svd.U[i * r + b];
                overlap[a * r + b] = sum;
            }
        return SineFromOverlap(overlap, r);
    }

    /// <summary>sin of the largest principal angle between span(Vt_exact[:r]ᵀ) and span(Vtᵀ).</summary>
    public static double RightSine(ThinSvd.Result exact, TruncatedSvd.Result svd)
    {
        int r = svd.Rank, n = svd.N;
        var overlap = new double[r * r];   // Vt_exact·Vtᵀ (r, r)
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++)
            {
                double sum = 0;
                for (int j = 0; j < n; j++) sum += exact.Vt[a * n + j] * svd.Vt[b * n + j];
                overlap[a * r + b] = sum;
            }
        return SineFromOverlap(overlap, r);
    }

    /// <summary>Asserts UᵀU = I and Vt·Vtᵀ = I to 1e-9.</summary>
    public static void Orthonormal(TruncatedSvd.Result svd)
    {
        int r = svd.Rank, m = svd.M, n = svd.N;
        for (int a = 0; a < r; a++)
            for (int b = 0; b < r; b++)
            {
                double uu = 0, vv = 0;
                for (int i = 0; i < m; i++) uu += svd.U[i * r + a] * svd.U[i * r + b];
                for (int j = 0; j < n; j++) vv += svd.Vt[a * n + j] * svd.Vt[b * n + j];
                double expected = a == b ? 1 : 0;
                Assert.True(Math.Abs(uu - expected) < 1e-9, $"UᵀU[{a},{b}] = {uu}");
                Assert.True(Math.Abs(vv - expected) < 1e-9, $"V·Vᵀ[{a},{b}] = {vv}");
            }
    }

    // overlap: (r, r) = Xᵀ·Y of two orthonormal bases → sin θ_max = √(1 − σ_min²)
    private static double SineFromOverlap(double[] overlap, int r)
    {
        double smallest = ThinSvd.Compute(overlap, r, r).S[r - 1];
        return Math.Sqrt(Math.Max(0, 1 - smallest * smallest));
    }
}
