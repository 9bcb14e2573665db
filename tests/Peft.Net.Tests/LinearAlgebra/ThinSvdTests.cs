using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Tests.LinearAlgebra;

public class ThinSvdTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 3)]
    [InlineData(3, 7)]
    [InlineData(16, 16)]
    [InlineData(40, 25)]
    [InlineData(9, 64)]
    public void ReconstructsWithOrthonormalFactorsAndDescendingValues(int m, int n)
    {
        var a = Tensor.Normal([m, n], 0, 1, new TensorRandom((ulong)(m * 100 + n))).ToArray();
        var svd = ThinSvd.Compute(a, m, n);
        int p = Math.Min(m, n);
        Assert.Equal(p, svd.S.Length);
        for (int i = 1; i < p; i++) Assert.True(svd.S[i - 1] >= svd.S[i], "singular values must descend");
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int c = 0; c < p; c++) sum += svd.U[i * p + c] * svd.S[c] * svd.Vt[c * n + j];
                Assert.True(Math.Abs(sum - a[i * n + j]) < 1e-10, $"A[{i},{j}] reconstructed as {sum}, expected {a[i * n + j]}");
            }
        for (int c1 = 0; c1 < p; c1++)
            for (int c2 = 0; c2 < p; c2++)
            {
                double uu = 0, vv = 0;
                for (int i = 0; i < m; i++) uu += svd.U[i * p + c1] * svd.U[i * p + c2];
                for (int j = 0; j < n; j++) vv += svd.Vt[c1 * n + j] * svd.Vt[c2 * n + j];
                double expected = c1 == c2 ? 1 : 0;
                Assert.True(Math.Abs(uu - expected) < 1e-10, $"UᵀU[{c1},{c2}] = {uu}");
                Assert.True(Math.Abs(vv - expected) < 1e-10, $"VᵀV[{c1},{c2}] = {vv}");
            }
    }

    [Fact]
    public void FindsKnownSingularValuesOfAConstructedMatrix()
    {
        // A = Q1 · diag(5, 3, 1e-3) · Q2ᵀ with Householder reflections Q1 (4×4) and Q2 (3×3)
        double[] s = [5, 3, 1e-3];
        double[] v1 = [0.5, -0.5, 0.5, 0.5], v2 = [0.6, 0, 0.8];
        double H(double[] v, int i, int j) => (i == j ? 1 : 0) - 2 * v[i] * v[j];
        var a = new float[4 * 3];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++)
            {
                double sum = 0;
                for (int c = 0; c < 3; c++) sum += H(v1, i, c) * s[c] * H(v2, j, c);
                a[i * 3 + j] = (float)sum;
            }
        var svd = ThinSvd.Compute(a, 4, 3);
        // float32 input: singular values within float rounding of the matrix entries
        Assert.Equal(5, svd.S[0], 5);
        Assert.Equal(3, svd.S[1], 5);
        Assert.Equal(1e-3, svd.S[2], 5);
    }

    [Fact]
    public void RankDeficientMatrixHasZeroSingularValues()
    {
        // rank 1: outer product
        var a = new float[5 * 4];
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++) a[i * 4 + j] = (i + 1) * (j - 1.5f);
        var svd = ThinSvd.Compute(a, 5, 4);
        Assert.True(svd.S[0] > 1);
        for (int c = 1; c < 4; c++) Assert.True(svd.S[c] < 1e-12, $"S[{c}] = {svd.S[c]}");
    }

    [Fact]
    public void RejectsAMismatchedBuffer()
    {
        var error = Assert.Throws<ArgumentException>(() => ThinSvd.Compute(new float[5], 2, 3));
        Assert.Contains("[2, 3]", error.Message);
    }
}

public class JacobiRotationTests
{
    public static TheoryData<int> Lengths() => [.. Peft.Net.Core.Tests.Testing.TensorAssert.SimdLengths];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void SimdMatchesTheReference(int length)
    {
        var random = new TensorRandom((ulong)length + 1);
        var a = Enumerable.Range(0, length).Select(_ => random.NextGaussian()).ToArray();
        var b = Enumerable.Range(0, length).Select(_ => random.NextGaussian()).ToArray();
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        var (a1, b1) = ((double[])a.Clone(), (double[])b.Clone());
        var (a2, b2) = ((double[])a.Clone(), (double[])b.Clone());
        JacobiRotation.Apply(a1, b1, c, s);
        JacobiRotation.ApplyReference(a2, b2, c, s);
        Assert.Equal(a2, a1);   // the same two products and one add per element: bitwise equal
        Assert.Equal(b2, b1);
    }
}
