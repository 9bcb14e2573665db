using Peft.Net.Adapters;
using Peft.Net.Core.Nn;
using Peft.Net.LinearAlgebra;

namespace Peft.Net.Lora;

/// <summary>
/// What PEFT's <c>from_pretrained</c> does to the base of an <c>init_lora_weights: "olora"</c> adapter before it loads
/// the saved A and B: it re-runs <c>olora_init</c>, <c>Q, R = qr(W)</c> in float32 and <c>W ← W − scaling·Q[:, :r]·R[:r, :]</c>
/// on every adapted linear layer (the saved A and B were trained on that residual). The product is computed here by
/// Householder reflections in double precision (<see cref="HouseholderQr"/>); it is the projection of W onto its first r
/// columns, independent of the QR's sign convention. A 4-bit base is decoded, rewritten and quantized again, as PEFT does.
/// Embedding adapters leave their base alone (PEFT's embedding layers have no OLoRA).
/// </summary>
internal static class OloraBaseRewrite
{
    /// <summary>Whether a config's <c>init_lora_weights</c> is OLoRA.</summary>
    public static bool Applies(LoraConfig config) => string.Equals(config.InitLoraWeights, "olora", StringComparison.OrdinalIgnoreCase);

    /// <summary>Throws before anything changes when a layer's rank exceeds what its weight's QR has (as PEFT fails).</summary>
    /// <exception cref="AdapterFormatException">A rank larger than min(out, in) of its layer.</exception>
    public static void Check(Module model, string adapterName, string configPath)
    {
        foreach (var (path, layer) in PeftModelExtensions.RewritableBaseLayers(model, adapterName, []))
        {
            int r = layer.GetOptions(adapterName).Rank;
            if (r > Math.Min(layer.OutFeatures, layer.InFeatures))
                throw new AdapterFormatException(configPath,
                    $"OLoRA adapter: '{path}' has rank {r}, more than its [{layer.OutFeatures}, {layer.InFeatures}] weight's QR provides (min {Math.Min(layer.OutFeatures, layer.InFeatures)})");
        }
    }

    /// <summary>Rewrites each adapted layer's base weight to OLoRA's residual.</summary>
    public static void Apply(Module model, string adapterName, IReadOnlyCollection<string> overwrittenFileKeys)
    {
        foreach (var (_, layer) in PeftModelExtensions.RewritableBaseLayers(model, adapterName, overwrittenFileKeys))
        {
            var weight = layer.Base.GetDenseWeight();
            ToResidual(weight.AsSpan(), layer.OutFeatures, layer.InFeatures, layer.GetOptions(adapterName).Rank, layer.GetScaling(adapterName));
            layer.Base.SetDenseWeight(weight);
        }
    }

    // w: (N, K) ← W − scaling·Q[:, :r]·R[:r, :]
    public static void ToResidual(Span<float> w, int n, int k, int r, double scaling)
    {
        var product = HouseholderQr.LeadingProduct(w, n, k, r);   // (N, K)
        for (int i = 0; i < w.Length; i++) w[i] = (float)(w[i] - scaling * product[i]);
    }
}
