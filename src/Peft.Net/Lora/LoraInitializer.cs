using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>Creates a linear adapter's A [r, in] and B [out, r] modules the way PEFT's <c>init_lora_weights</c> options do.</summary>
internal static class LoraInitializer
{
    // rewriteBase false (loading a "pissa" folder): PiSSA's A and B stay zero and the base is left alone; the file's A
    // and B are copied in, then PissaBaseRewrite rewrites the base.
    public static (Linear A, Linear B) Create(ILinearLayer baseLayer, LoraAdapterOptions options, TensorRandom random, string adapterName,
        bool rewriteBase = true)
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
            case LoraInit.PiSSA when rewriteBase:
                PiSSA(baseLayer, options, av, bv, random, adapterName);
                break;
            case LoraInit.PiSSA:
                if (options.PissaNiter is not null)
                    throw new ArgumentException($"PiSSA adapter '{adapterName}': a deferred base rewrite needs the exact \"pissa\" (a randomized SVD depends on the generator's state now).");
                av.Clear();
                break;
        }
        return (a, b);
    }

    // a: (R, K), b: (N, R); rewrites the base weight to the residual W − scaling·B·A
    private static void PiSSA(ILinearLayer baseLayer, LoraAdapterOptions options, Span<float> a, Span<float> b, TensorRandom random, string adapterName)
    {
        int k = baseLayer.InFeatures, n = baseLayer.OutFeatures;
        var weight = baseLayer.GetDenseWeight();
        // one draw of the adapter's generator seeds pissa_niter_K's Gaussian block
        ulong seed = options.PissaNiter is null ? 0 : random.NextUInt64();
        PissaFactors.Compute(weight.AsSpan(), n, k, options, seed, a, b, adapterName);
        SubtractProduct(weight.AsSpan(), a, b, n, k, options.Rank, options.Scaling);
        baseLayer.SetDenseWeight(weight);
    }

    // a: (R, K), b: (N, R) from PissaFactors of the unchanged base; rewrites the base weight to W − scaling·B·A
    public static void WritePissaResidual(ILinearLayer baseLayer, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int r, float scaling)
    {
        var weight = baseLayer.GetDenseWeight();
        SubtractProduct(weight.AsSpan(), a, b, baseLayer.OutFeatures, baseLayer.InFeatures, r, scaling);
        baseLayer.SetDenseWeight(weight);
    }

    // w: (N, K) ← W − scaling·B·A with a: (R, K), b: (N, R), from the float32 factors (as PEFT does):
    // W += (−scaling·B)·A on the engine's GEMM
    private static void SubtractProduct(Span<float> w, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int n, int k, int r, float scaling)
    {
        var negativeScaledB = new float[n * r];
        System.Numerics.Tensors.TensorPrimitives.Multiply(b, -scaling, negativeScaledB);
        Gemm.Multiply(negativeScaledB, false, a, false, w, n, k, r, accumulate: true);
    }
}
