using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Lora;

/// <summary>Creates a linear adapter's A [r, in] and B [out, r] modules the way PEFT's <c>init_lora_weights</c> options do.</summary>
internal static class LoraInitializer
{
    public static (Linear A, Linear B) Create(ILinearLayer baseLayer, LoraAdapterOptions options, TensorRandom random, string adapterName)
    {
        int r = options.Rank, k = baseLayer.InFeatures, n = baseLayer.OutFeatures;
        // The modules' own initialisation is overwritten below; a fixed generator keeps `random` for the adapter.
        var a = new Linear(k, r, bias: false, random: new TensorRandom(0));
        var b = new Linear(r, n, bias: options.LoraBias, random: new TensorRandom(0));
        b.Bias?.AsSpan().Clear();   // PEFT's reset_lora_parameters: lora_B.bias = 0
        var av = a.Weight.AsSpan();
        var bv = b.Weight.AsSpan();
        bv.Clear();
        switch (options.Init)
        {
            case LoraInit.Default:
                Tensor.KaimingUniform([r, k], random).AsSpan().CopyTo(av);   // U(±1/√in)
                break;
            case LoraInit.Gaussian:
                Tensor.Normal([r, k], 0f, 1f / r, random).AsSpan().CopyTo(av);
                break;
            case LoraInit.PiSSA:
                PiSSA(baseLayer, options, av, bv, random, adapterName);
                break;
        }
        return (a, b);
    }

    // a: (R, K), b: (N, R); rewrites the base weight to the residual W − scaling·B·A
    private static void PiSSA(ILinearLayer baseLayer, LoraAdapterOptions options, Span<float> a, Span<float> b, TensorRandom random, string adapterName)
    {
        int r = options.Rank, k = baseLayer.InFeatures, n = baseLayer.OutFeatures;
        if (r > Math.Min(n, k))
            throw new ArgumentException($"PiSSA adapter '{adapterName}': rank {r} exceeds the base weight's smaller dimension ({n}×{k}).");
        if (options.Scaling == 0)
            throw new ArgumentException($"PiSSA adapter '{adapterName}': alpha must not be 0 (S/scaling would be infinite).");
        var weight = baseLayer.GetDenseWeight();
        var w = weight.AsSpan();
        if (!System.Numerics.Tensors.TensorPrimitives.IsFiniteAll<float>(w))
            throw new ArgumentException($"PiSSA adapter '{adapterName}': the base weight ({n}×{k}) has a NaN or infinite value, so it has no SVD.");
        // "pissa": the leading r triplets to float32 accuracy; "pissa_niter_K": K power iterations from a Gaussian
        // block drawn from the adapter's generator (one draw of it seeds the block, so the seed decides the result).
        var svd = options.PissaNiter is int niter
            ? TruncatedSvd.Randomized(w, n, k, r, niter, new TensorRandom(random.NextUInt64()))
            : TruncatedSvd.Leading(w, n, k, r);
        double scaling = options.Scaling;
        for (int i = 0; i < r; i++)
        {
            double root = Math.Sqrt(svd.S[i] / scaling);   // √(S_r / scaling)
            for (int j = 0; j < k; j++) a[i * k + j] = (float)(root * svd.Vt[i * k + j]);
            for (int o = 0; o < n; o++) b[o * r + i] = (float)(svd.U[o * r + i] * root);
        }
        // W_res = W − scaling · B·A, from the float32 factors (as PEFT does): W += (−scaling·B)·A on the engine's GEMM
        var negativeScaledB = new float[n * r];
        System.Numerics.Tensors.TensorPrimitives.Multiply(b, -options.Scaling, negativeScaledB);
        Gemm.Multiply(negativeScaledB, false, a, false, w, n, k, r, accumulate: true);
        baseLayer.SetDenseWeight(weight);
    }
}
