using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// The base rewrite of loading an <c>init_lora_weights: "pissa"</c> folder, done after the file's tensors are in so
/// that a folder that fails leaves every base weight as it was. PEFT's <c>from_pretrained</c> runs <c>pissa_init</c>
/// (W ← W − scaling·B₀·A₀ from the base's own SVD) and then loads the saved A and B over B₀ and A₀: the residual
/// depends on the SVD alone, so running the SVD on the untouched base and rewriting it last gives the same weights.
/// <see cref="Factors"/> runs every layer's SVD, the step that can fail (rank, NaN), before anything changes;
/// <see cref="Apply"/> then only subtracts the products. A layer whose base weight the file itself holds
/// (save_embedding_layers) keeps the file's value, as after PEFT's load_state_dict.
/// </summary>
internal static class PissaBaseRewrite
{
    /// <summary>A layer's PiSSA factors A₀ (R, K) and B₀ (N, R), float32.</summary>
    public sealed record LayerFactors(LoraLinear Layer, float[] A, float[] B);

    /// <summary>The SVD factors of every PiSSA layer of the adapter whose base the file does not overwrite (nothing changes).</summary>
    /// <exception cref="ArgumentException">A rank larger than its weight's smaller dimension, or a weight with a NaN or infinity.</exception>
    public static List<LayerFactors> Factors(Module model, string adapterName, IReadOnlyCollection<string> overwrittenFileKeys)
    {
        var result = new List<LayerFactors>();
        foreach (var (_, layer) in PeftModelExtensions.RewritableBaseLayers(model, adapterName, overwrittenFileKeys))
        {
            var options = layer.GetOptions(adapterName);
            if (options.Init != LoraInit.PiSSA) continue;
            int n = layer.OutFeatures, k = layer.InFeatures, r = options.Rank;
            var a = new float[(long)r * k];
            var b = new float[(long)n * r];
            PissaFactors.Compute(layer.Base.GetDenseWeight().AsSpan(), n, k, options, seed: 0, a, b, adapterName);
            result.Add(new LayerFactors(layer, a, b));
        }
        return result;
    }

    /// <summary>
    /// Rewrites each layer's base to W − scaling·B₀·A₀ (a 4-bit base is decoded and quantized again). It allocates a
    /// float32 [out, in] copy per layer and has no other way to fail; undoing an out-of-memory half-way would need a
    /// copy of every base weight.
    /// </summary>
    public static void Apply(IEnumerable<LayerFactors> factors, string adapterName)
    {
        foreach (var (layer, a, b) in factors)
        {
            var options = layer.GetOptions(adapterName);
            LoraInitializer.WritePissaResidual(layer.Base, a, b, options.Rank, options.Scaling);
        }
    }
}
