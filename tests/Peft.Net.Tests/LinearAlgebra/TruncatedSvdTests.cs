using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Tests.LinearAlgebra;

/// <summary>The randomized (pissa_niter_K) and converged (pissa) truncated SVDs against the exact Jacobi SVD.</summary>
public class TruncatedSvdTests
{
    [Theory]
    [InlineData(120, 80)]
    [InlineData(70, 150)]
    [InlineData(64, 64)]
    public void RandomizedMatchesTheJacobiSvdOnADecayingSpectrum(int m, int n)
    {
        const int rank = 6;
        var w = SpectrumMatrix.Make(m, n, SpectrumMatrix.Geometric(Math.Min(m, n), 0.85), seed: (ulong)(m + n));
        var exact = ThinSvd.Compute(w, m, n);
        var svd = TruncatedSvd.Randomized(w, m, n, rank, powerIterations: 4, new TensorRandom(5));
        Assert.Equal(4, svd.Iterations);
        for (int i = 0; i < rank; i++)
            Assert.True(Math.Abs(svd.S[i] - exact.S[i]) <= 1e-5 * exact.S[0], $"σ{i}: {svd.S[i]} vs exact {exact.S[i]}");
        Assert.True(SvdAssert.LeftSine(exact, svd) <= 1e-4, $"left subspace angle: sin = {SvdAssert.LeftSine(exact, svd)}");
        Assert.True(SvdAssert.RightSine(exact, svd) <= 1e-4, $"right subspace angle: sin = {SvdAssert.RightSine(exact, svd)}");
        SvdAssert.Orthonormal(svd);
    }

    [Fact]
    public void PowerIterationsSharpenAFlatSpectrum()
    {
        // σᵢ = 0.97^i: the range finder alone (K = 0) mixes in the next directions; K = 4 power iterations remove them.
        const int m = 160, n = 140, rank = 8;
        var w = SpectrumMatrix.Make(m, n, SpectrumMatrix.Geometric(n, 0.97), seed: 3);
        var exact = ThinSvd.Compute(w, m, n);
        double none = SvdAssert.LeftSine(exact, TruncatedSvd.Randomized(w, m, n, rank, 0, new TensorRandom(1)));
        double four = SvdAssert.LeftSine(exact, TruncatedSvd.Randomized(w, m, n, rank, 4, new TensorRandom(1)));
        Assert.True(four < none / 4, $"sin of the subspace angle: K = 0 {none}, K = 4 {four}");
        Assert.True(four < 0.2, $"K = 4: sin = {four}");
    }

    [Theory]
    [InlineData(200, 150, 0.0)]    // Gaussian: the flat spectrum, hardest for subspace iteration
    [InlineData(150, 260, 0.93)]   // decaying
    public void LeadingMatchesTheJacobiSvdToFloatAccuracy(int m, int n, double decay)
    {
        const int rank = 8;
        var w = decay == 0
            ? Tensor.Normal([m, n], 0, 1, new TensorRandom(11)).ToArray()
            : SpectrumMatrix.Make(m, n, SpectrumMatrix.Geometric(Math.Min(m, n), decay), seed: 12);
        var exact = ThinSvd.Compute(w, m, n);
        var svd = TruncatedSvd.Leading(w, m, n, rank);
        Assert.True(svd.Converged);
        Assert.True(svd.Iterations > 0, "a matrix this size takes the subspace-iteration path, not Jacobi");
        for (int i = 0; i < rank; i++)
            Assert.True(Math.Abs(svd.S[i] - exact.S[i]) <= 1e-6 * exact.S[0], $"σ{i}: {svd.S[i]} vs exact {exact.S[i]}");
        Assert.True(SvdAssert.LeftSine(exact, svd) <= 1e-4, $"left subspace angle: sin = {SvdAssert.LeftSine(exact, svd)}");
        Assert.True(SvdAssert.RightSine(exact, svd) <= 1e-4, $"right subspace angle: sin = {SvdAssert.RightSine(exact, svd)}");
        SvdAssert.Orthonormal(svd);
    }

    [Fact]
    public void LeadingDoublesItsBlockWhenTheSpectrumIsFlatAcrossIt()
    {
        // σ₀..σ₅ well apart, σ₆..σ₂₉ a cluster within 1.2 % (around r = 8 and past q = 16), then a drop: with q = 16
        // the iteration stalls (σ₁₆/σ₇ ≈ 0.995), with q = 32 it converges at once (σ₃₂/σ₇ ≈ 0.08).
        const int m = 200, n = 160, rank = 8;
        var s = Enumerable.Range(0, n).Select(i => i < 6 ? 10 * Math.Pow(0.8, i) : i < 30 ? 1 - 0.0005 * (i - 6) : 0.1 * Math.Pow(0.9, i - 30)).ToArray();
        var w = SpectrumMatrix.Make(m, n, s, seed: 50);
        var exact = ThinSvd.Compute(w, m, n);
        var svd = TruncatedSvd.Leading(w, m, n, rank);
        Assert.True(svd.Converged);
        Assert.Equal(2 * TruncatedSvd.BlockSize(m, n, rank), svd.Block);
        Assert.True(svd.Iterations < TruncatedSvd.MaxIterationsPerBlock, $"{svd.Iterations} iterations at q = {svd.Block}");
        for (int i = 0; i < rank; i++)
            Assert.True(Math.Abs(svd.S[i] - exact.S[i]) <= 1e-6 * exact.S[0], $"σ{i}: {svd.S[i]} vs exact {exact.S[i]}");
        SvdAssert.Orthonormal(svd);
    }

    [Fact]
    public void BothPathsHandleARankBelowTheRequestedRank()
    {
        // rank 3 matrix, 8 triplets asked: the last 5 singular values are float noise, the first 3 exact
        const int m = 150, n = 120, rank = 8;
        var w = SpectrumMatrix.Make(m, n, [4, 2, 1], seed: 21);
        foreach (var svd in new[] { TruncatedSvd.Leading(w, m, n, rank), TruncatedSvd.Randomized(w, m, n, rank, 2, new TensorRandom(2)) })
        {
            Assert.Equal(4, svd.S[0], 5);
            Assert.Equal(2, svd.S[1], 5);
            Assert.Equal(1, svd.S[2], 5);
            for (int i = 3; i < rank; i++) Assert.True(svd.S[i] < 1e-5, $"σ{i} = {svd.S[i]}");
            Assert.All(svd.U, x => Assert.True(double.IsFinite(x)));
            Assert.All(svd.Vt, x => Assert.True(double.IsFinite(x)));
        }
    }

    [Fact]
    public void RandomizedIsFixedBySeedAndChangesWithIt()
    {
        var w = Tensor.Normal([90, 110], 0, 1, new TensorRandom(4)).ToArray();
        var first = TruncatedSvd.Randomized(w, 90, 110, 5, 2, new TensorRandom(7));
        var again = TruncatedSvd.Randomized(w, 90, 110, 5, 2, new TensorRandom(7));
        var other = TruncatedSvd.Randomized(w, 90, 110, 5, 2, new TensorRandom(8));
        Assert.Equal(first.U, again.U);
        Assert.Equal(first.S, again.S);
        Assert.Equal(first.Vt, again.Vt);
        Assert.NotEqual(first.S, other.S);
    }

    [Fact]
    public void BothPathsAreBitIdenticalForAnyThreadCount()
    {
        // Big enough that the GEMMs and the Gram–Schmidt updates split across threads.
        const int m = 600, n = 520, rank = 64;
        var decaying = SpectrumMatrix.Make(m, n, SpectrumMatrix.Geometric(300, 0.95), seed: 31);
        var gaussian = Tensor.Normal([m, n], 0, 1, new TensorRandom(32)).ToArray();
        int before = ComputeSettings.ThreadCount;
        try
        {
            TruncatedSvd.Result leading = default, randomized = default;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                ComputeSettings.ThreadCount = threads;
                var l = TruncatedSvd.Leading(decaying, m, n, rank);
                var r = TruncatedSvd.Randomized(gaussian, m, n, rank, 2, new TensorRandom(9));
                Assert.True(l.Converged && l.Iterations > 0, $"converged {l.Converged} after {l.Iterations} iterations");
                if (threads == 1) (leading, randomized) = (l, r);
                else
                {
                    Assert.Equal(leading.U, l.U);
                    Assert.Equal(leading.S, l.S);
                    Assert.Equal(leading.Vt, l.Vt);
                    Assert.Equal(randomized.U, r.U);
                    Assert.Equal(randomized.S, r.S);
                    Assert.Equal(randomized.Vt, r.Vt);
                }
            }
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }

    [Fact]
    public void AZeroMatrixGivesZeroSingularValuesOnBothPaths()
    {
        var w = new float[200 * 150];
        foreach (var svd in new[] { TruncatedSvd.Leading(w, 200, 150, 4), TruncatedSvd.Randomized(w, 200, 150, 4, 3, new TensorRandom(1)) })
        {
            Assert.All(svd.S, s => Assert.Equal(0, s));
            Assert.All(svd.U, x => Assert.True(double.IsFinite(x)));
            Assert.All(svd.Vt, x => Assert.True(double.IsFinite(x)));
        }
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void RejectsANonFiniteMatrix(float bad)
    {
        var w = new float[120 * 100];
        w[777] = bad;
        Assert.Contains("NaN or infinite", Assert.Throws<ArgumentException>(() => TruncatedSvd.Leading(w, 120, 100, 4)).Message);
        Assert.Contains("NaN or infinite", Assert.Throws<ArgumentException>(() => TruncatedSvd.Randomized(w, 120, 100, 4, 1, new TensorRandom(1))).Message);
    }

    [Fact]
    public void RejectsBadSizesAndRanks()
    {
        var w = new float[6];
        Assert.Contains("[2, 4]", Assert.Throws<ArgumentException>(() => TruncatedSvd.Leading(w, 2, 4, 1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedSvd.Leading(w, 2, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedSvd.Randomized(w, 2, 3, 0, 1, new TensorRandom(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => TruncatedSvd.Randomized(w, 2, 3, 1, -1, new TensorRandom(1)));
    }
}
