using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models.Training;

/// <summary>
/// What <see cref="Trainer"/> needs from a model: its module tree (trainable parameters, train/eval mode, state) and a
/// next-token loss.
/// </summary>
public interface ICausalLanguageModel
{
    /// <summary>The model's module tree; its trainable parameters (<see cref="Module.TrainableParameters"/>) are optimised.</summary>
    Module Module { get; }

    // ids, labels: (B, T) → scalar
    /// <summary>
    /// Mean next-token cross-entropy, Hugging Face style: the logits at position t are scored against
    /// <c>labels[t + 1]</c>; labels equal to −100 are left out. Returns a scalar recorded by autograd.
    /// </summary>
    /// <param name="inputIds">Input ids, batch × time, row-major.</param>
    /// <param name="labels">Labels of the same layout (the ids, with −100 where no loss is wanted).</param>
    /// <param name="batch">B.</param>
    /// <param name="time">T.</param>
    Tensor Loss(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels, int batch, int time);

    /// <summary>
    /// Gives back memory the model keeps for reuse between training steps (activation and gradient buffers). The trainer
    /// calls it when an epoch or the run ends. The default does nothing.
    /// </summary>
    void ReleaseCachedMemory()
    {
    }
}
