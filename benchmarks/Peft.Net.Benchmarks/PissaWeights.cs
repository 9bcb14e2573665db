using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Benchmarks;

/// <summary>Synthetic weights for the PiSSA benchmarks, with a slowly decaying spectrum (no flat top, no sharp drop).</summary>
internal static class PissaWeights
{
    // → (M, N): G₁·diag(1/√(1 + i/8))·G₂ / √N with Gaussian G₁ (M, P), G₂ (P, N), P = min(M, N)
    public static float[] Decaying(int m, int n, ulong seed)
    {
        int p = Math.Min(m, n);
        var random = new TensorRandom(seed);
        var left = Tensor.Normal([m, p], 0, 1, random).ToArray();
        var right = Tensor.Normal([p, n], 0, 1, random).ToArray();
        for (int i = 0; i < m; i++)
            for (int c = 0; c < p; c++) left[i * p + c] *= (float)(1 / Math.Sqrt(1 + c / 8.0) / Math.Sqrt(n));
        var w = new float[m * n];
        Gemm.Multiply(left, false, right, false, w, m, n, p, accumulate: false);
        return w;
    }
}
