using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Neftune;
using Peft.Net.Lora;

namespace Peft.Net;

public static partial class PeftModelExtensions
{
    /// <summary>
    /// Turns NEFTune on: the model's input embedding (the module named <c>embed_tokens</c> or <c>wte</c>, else the
    /// first <see cref="Embedding"/>) is replaced by a <see cref="NeftuneEmbedding"/> that adds uniform noise
    /// <c>±α/√(L·d)</c> in training mode (Hugging Face semantics). The parameter keeps its name and tensor. Calling it
    /// again changes α (and the generator when <paramref name="random"/> is given). When the input embedding is a
    /// <see cref="LoraEmbedding"/>, it is not wrapped: its <see cref="LoraEmbedding.NeftuneNoiseAlpha"/> is set, so the
    /// noise lands on the adapted output (base plus adapters), as the hook does on a PEFT model. Either order works:
    /// LoRA applied later to a NEFTune embedding wraps the inner embedding and carries the noise setting over.
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="noiseAlpha">α ≥ 0 (the paper used 5 to 15).</param>
    /// <param name="random">Generator of the noise (seed 0 when null).</param>
    /// <exception cref="InvalidOperationException">The model has no input embedding, or it is a module NEFTune cannot noise.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="noiseAlpha"/> is negative or not finite.</exception>
    public static void EnableNeftune(this Module model, float noiseAlpha = 5f, TensorRandom? random = null)
    {
        var (path, module) = FindInputEmbedding(model);
        switch (module)
        {
            case NeftuneEmbedding neftune:
                if (!(noiseAlpha >= 0 && float.IsFinite(noiseAlpha)))
                    throw new ArgumentOutOfRangeException(nameof(noiseAlpha), noiseAlpha, "The NEFTune noise alpha must be finite and ≥ 0.");
                neftune.NoiseAlpha = noiseAlpha;
                break;
            case Embedding embedding:
                model.ReplaceSubmodule(path, new NeftuneEmbedding(embedding, noiseAlpha, random));
                break;
            case LoraEmbedding lora:
                lora.NeftuneNoiseAlpha = noiseAlpha;   // validates α
                if (random is not null) lora.NeftuneRandom = random;
                break;
            default:
                throw new InvalidOperationException(
                    $"NEFTune: the input embedding '{path}' is a {module.GetType().Name}; NEFTune noises an Embedding or a LoraEmbedding.");
        }
    }

    /// <summary>
    /// Turns NEFTune off: a <see cref="NeftuneEmbedding"/> is replaced by the embedding it wraps, and a
    /// <see cref="LoraEmbedding"/>'s <see cref="LoraEmbedding.NeftuneNoiseAlpha"/> is cleared. No-op when it is off.
    /// </summary>
    public static void DisableNeftune(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (path, module) in model.NamedModules().ToList())
        {
            if (module is NeftuneEmbedding neftune)
                model.ReplaceSubmodule(path, neftune.Unwrap());
            else if (module is LoraEmbedding lora)
                lora.NeftuneNoiseAlpha = null;
        }
    }

    /// <summary>
    /// What replaces a LoRA layer when adapters are unloaded: its base layer, re-wrapped in a <see cref="NeftuneEmbedding"/>
    /// when the layer is a <see cref="LoraEmbedding"/> with NEFTune on (so unloading keeps the noise setting).
    /// </summary>
    private static Module BaseForUnload(ILoraLayer layer) =>
        layer is LoraEmbedding { NeftuneNoiseAlpha: { } alpha } lora
            ? (Module)new NeftuneEmbedding(lora.Base, alpha, lora.NeftuneRandom).Train(lora.IsTraining)
            : layer.BaseLayer;

    /// <summary>
    /// LoRA on an input embedding that NEFTune already wraps: the LoRA layer wraps the inner embedding and takes over
    /// the noise α and generator (the noise then lands on base plus adapters).
    /// </summary>
    private static LoraEmbedding WrapNeftuneEmbedding(NeftuneEmbedding neftune)
    {
        var lora = new LoraEmbedding(neftune.Unwrap()) { NeftuneNoiseAlpha = neftune.NoiseAlpha, NeftuneRandom = neftune.Random };
        lora.Train(neftune.IsTraining);
        return lora;
    }

    private static (string Path, Module Module) FindInputEmbedding(Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var embeddings = LoraTargets.Candidates(model).Where(c => c.Module is Embedding or NeftuneEmbedding or LoraEmbedding).ToList();
        var found = embeddings.FirstOrDefault(c => c.Path.Split('.')[^1] is "embed_tokens" or "wte");
        if (found.Module is null) found = embeddings.FirstOrDefault();
        return found.Module is not null ? found : throw new InvalidOperationException($"NEFTune: the {model.GetType().Name} has no input embedding.");
    }
}
