using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models.Training;

/// <summary>Lets <see cref="Trainer"/> train a <see cref="LlamaForCausalLM"/> (its <see cref="LlamaForCausalLM.Loss"/>).</summary>
/// <param name="model">The model.</param>
public sealed class LlamaCausalLanguageModel(LlamaForCausalLM model) : ICausalLanguageModel
{
    /// <summary>The wrapped model.</summary>
    public LlamaForCausalLM Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    /// <inheritdoc/>
    public Module Module => Model;

    /// <inheritdoc/>
    public Tensor Loss(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels, int batch, int time) => Model.Loss(inputIds, labels, batch, time);

    /// <inheritdoc/>
    public void ReleaseCachedMemory() => Model.ReleaseActivationBuffers();
}
