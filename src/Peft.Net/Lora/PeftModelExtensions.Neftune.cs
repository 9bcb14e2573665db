using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Neftune;

namespace Peft.Net.Lora;

public static partial class PeftModelExtensions
{
    /// <summary>
    /// Turns NEFTune on: the model's input embedding (the module named <c>embed_tokens</c> or <c>wte</c>, else the
    /// first <see cref="Embedding"/>) is replaced by a <see cref="NeftuneEmbedding"/> that adds uniform noise
    /// <c>±α/√(L·d)</c> in training mode (Hugging Face semantics). The parameter keeps its name and tensor. Calling it
    /// again changes α. Apply LoRA first when the embedding itself is a LoRA target.
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="noiseAlpha">α ≥ 0 (the paper used 5 to 15).</param>
    /// <param name="random">Generator of the noise (seed 0 when null).</param>
    /// <exception cref="InvalidOperationException">The model has no input embedding, or it is a LoRA embedding.</exception>
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
            default:
                throw new InvalidOperationException(
                    $"NEFTune: the input embedding '{path}' is a {module.GetType().Name}; NEFTune wraps a plain Embedding (not a LoRA-adapted one).");
        }
    }

    /// <summary>Turns NEFTune off: the <see cref="NeftuneEmbedding"/> is replaced by the embedding it wraps. No-op when it is off.</summary>
    public static void DisableNeftune(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (path, module) in model.NamedModules().ToList())
            if (module is NeftuneEmbedding neftune)
                model.ReplaceSubmodule(path, neftune.Unwrap());
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
