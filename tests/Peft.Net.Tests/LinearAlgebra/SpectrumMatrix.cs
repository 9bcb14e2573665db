using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Tests.LinearAlgebra;

/// <summary>Float32 test matrices with a chosen spectrum: W = Σ sᵢ·uᵢ·vᵢᵀ with random orthonormal uᵢ, vᵢ.</summary>
internal static class SpectrumMatrix
{
    // → (M, N) with singular values s (length ≤ min(M, N))
    public static float[] Make(int m, int n, double[] s, ulong seed)
    {
        int p = s.Length;
        var random = new TensorRandom(seed);
        var u = Orthonormal(p, m, random);
        var v = Orthonormal(p, n, random);
        var w = new float[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                for (int c = 0; c < p; c++) sum += u[c * m + i] * s[c] * v[c * n + j];
                w[i * n + j] = (float)sum;
            }
        return w;
    }

    /// <summary>sᵢ = decay^i for i in [0, count).</summary>
    public static double[] Geometric(int count, double decay) => Enumerable.Range(0, count).Select(i => Math.Pow(decay, i)).ToArray();

    // → (P, L) orthonormal rows
    private static double[] Orthonormal(int p, int length, TensorRandom random)
    {
        var rows = new double[p * length];
        for (int i = 0; i < rows.Length; i++) rows[i] = random.NextGaussian();
        RowOrthonormalizer.Orthonormalize(rows, p, length, []);
        return rows;
    }
}
