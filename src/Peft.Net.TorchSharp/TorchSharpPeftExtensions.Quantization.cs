using Peft.Net.Lora;
using Peft.Net.Quantization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

public static partial class TorchSharpPeftExtensions
{
    /// <summary>
    /// QLoRA's first step: every frozen <see cref="Linear"/> except the output head (the one named <c>lm_head</c>, else
    /// the last whose output size is the input vocabulary) and except <paramref name="excludeModules"/> becomes an
    /// <see cref="Nf4Linear"/> holding the same bytes the engine's <see cref="Nf4Quantizer"/> produces. Call it before
    /// ApplyLora. The float weights are released.
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="quantType">NF4 (default) or FP4.</param>
    /// <param name="blockSize">Elements per absmax block (64).</param>
    /// <param name="doubleQuant">Quantize the absmax values too (QLoRA's double quantization).</param>
    /// <param name="excludeModules">Names or dotted suffixes of linear layers to keep in float.</param>
    /// <returns>What was converted and the bytes before and after.</returns>
    public static Nf4QuantizationSummary QuantizeNf4(this nn.Module model, QuantType quantType = QuantType.Nf4, int blockSize = 64,
        bool doubleQuant = true, IEnumerable<string>? excludeModules = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var exclude = excludeModules?.ToList() ?? [];
        var candidates = TorchTargets.Candidates(model);
        int head = TargetSelection.OutputHead(TorchTargets.Describe(candidates));
        var converted = new List<string>();
        var skipped = new List<string>();
        long parameters = 0, before = 0, after = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            if (candidates[i].Module is not Linear linear) continue;
            string path = candidates[i].Path;
            if (i == head || exclude.Any(e => TargetRegexes.IsNameOrDottedSuffix(path, e)))
            {
                skipped.Add(path);
                continue;
            }
            var quantized = Nf4Linear.FromLinear(linear, quantType, blockSize, doubleQuant);
            ModuleTree.Replace(model, path, quantized);
            parameters += linear.weight!.numel();
            before += linear.weight.numel() * linear.weight.ElementSize;
            after += quantized.Weight.StorageBytes;
            converted.Add(path);
            linear.Dispose();
        }
        return new Nf4QuantizationSummary(converted, skipped, parameters, before, after);
    }

    /// <summary>
    /// NEFTune: the input embedding (<c>embed_tokens</c> / <c>wte</c>, else the first embedding) gets uniform noise
    /// <c>±α/√(L·d)</c> in training mode (<see cref="NeftuneEmbedding"/>); state-dict keys do not change.
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="noiseAlpha">α (5 in the paper's main runs).</param>
    /// <param name="seed">Seed of the noise generator.</param>
    /// <returns>The NEFTune layer.</returns>
    /// <exception cref="ArgumentException">The model has no plain input embedding.</exception>
    public static NeftuneEmbedding EnableNeftune(this nn.Module model, double noiseAlpha = 5, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        var embeddings = ModuleTree.NamedModules(model).Where(m => m.Module is Embedding).ToList();
        if (embeddings.Count == 0)
            throw new ArgumentException($"The {model.GetType().Name} has no Embedding module for NEFTune (already enabled, or an unsupported embedding type).");
        var chosen = embeddings.FirstOrDefault(e => e.Path.Split('.')[^1] is "embed_tokens" or "wte" || e.Path.EndsWith(".base_layer", StringComparison.Ordinal));
        if (chosen.Module is null) chosen = embeddings[0];
        var neftune = new NeftuneEmbedding((Embedding)chosen.Module, noiseAlpha, new Generator(seed));
        ModuleTree.Replace(model, chosen.Path, neftune);
        return neftune;
    }
}
