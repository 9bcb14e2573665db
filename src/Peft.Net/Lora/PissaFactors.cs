using System.Numerics.Tensors;
using Peft.Net.Core;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Lora;

/// <summary>
/// PiSSA's A and B from a float32 base weight, shared by the engine's and the TorchSharp backend's layers: from the
/// leading triplets W ≈ U·diag(S)·Vh, with S_r = S[:r]/scaling, A = diag(√S_r)·Vh[:r] and B = U[:, :r]·diag(√S_r).
/// </summary>
internal static class PissaFactors
{
    // w: (N, K) → a: (R, K), b: (N, R)
    /// <summary>
    /// Fills A and B for <paramref name="options"/>: exact leading triplets for "pissa", a randomized SVD with
    /// <see cref="LoraAdapterOptions.PissaNiter"/> power iterations seeded by <paramref name="seed"/> for "pissa_niter_K".
    /// </summary>
    /// <exception cref="ArgumentException">The rank exceeds min(N, K), alpha is 0, or W has a NaN or infinity; the message names the adapter.</exception>
    public static void Compute(ReadOnlySpan<float> w, int n, int k, LoraAdapterOptions options, ulong seed, Span<float> a, Span<float> b, string adapterName)
    {
        int r = options.Rank;
        if (r > Math.Min(n, k))
            throw new ArgumentException($"PiSSA adapter '{adapterName}': rank {r} exceeds the base weight's smaller dimension ({n}×{k}).");
        if (options.Scaling == 0)
            throw new ArgumentException($"PiSSA adapter '{adapterName}': alpha must not be 0 (S/scaling would be infinite).");
        if (!TensorPrimitives.IsFiniteAll(w))
            throw new ArgumentException($"PiSSA adapter '{adapterName}': the base weight ({n}×{k}) has a NaN or infinite value, so it has no SVD.");
        // "pissa": the leading r triplets to float32 accuracy; "pissa_niter_K": K power iterations from a Gaussian
        // block drawn from a generator seeded by `seed`, so the seed decides the result.
        var svd = options.PissaNiter is int niter
            ? TruncatedSvd.Randomized(w, n, k, r, niter, new TensorRandom(seed))
            : TruncatedSvd.Leading(w, n, k, r);
        double scaling = options.Scaling;
        for (int i = 0; i < r; i++)
        {
            double root = Math.Sqrt(svd.S[i] / scaling);   // √(S_r / scaling)
            for (int j = 0; j < k; j++) a[i * k + j] = (float)(root * svd.Vt[i * k + j]);
            for (int o = 0; o < n; o++) b[o * r + i] = (float)(svd.U[o * r + i] * root);
        }
    }
}
