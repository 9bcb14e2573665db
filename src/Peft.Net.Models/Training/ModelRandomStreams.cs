using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;
using Peft.Net.Neftune;

namespace Peft.Net.Models.Training;

/// <summary>
/// Finds every random generator inside a model that changes what a training step computes — each
/// <see cref="Dropout"/> module (LoRA/DoRA/QLoRA adapter dropout, one per adapter and layer), NEFTune's noise on a
/// <see cref="NeftuneEmbedding"/> or a <see cref="LoraEmbedding"/> — keyed by the module's dotted path, so the trainer
/// can save their states in a checkpoint and restore each one to the same module on resume.
/// </summary>
internal static class ModelRandomStreams
{
    /// <summary>(key, generator) pairs in module declaration order; a generator shared by two modules appears once.</summary>
    public static List<(string Key, TensorRandom Random)> Collect(Module model)
    {
        var seen = new HashSet<TensorRandom>(ReferenceEqualityComparer.Instance);
        var streams = new List<(string, TensorRandom)>();
        foreach (var (name, module) in model.NamedModules())
        {
            var (suffix, random) = module switch
            {
                Dropout dropout => ("dropout", dropout.Random),
                NeftuneEmbedding neftune => ("neftune", neftune.Random),
                LoraEmbedding lora => ("neftune", lora.NeftuneRandom),
                _ => ("", (TensorRandom?)null),
            };
            if (random is not null && seen.Add(random))
                streams.Add((name.Length == 0 ? suffix : $"{name}#{suffix}", random));
        }
        return streams;
    }
}
