using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Models;
using Peft.Net.Models.Training;

namespace Peft.Net.Samples;

/// <summary>Lets the <see cref="Trainer"/> drive a <see cref="LlamaForCausalLM"/> (its module tree and its shifted next-token loss).</summary>
internal sealed class LlamaTrainingModel(LlamaForCausalLM model) : ICausalLanguageModel
{
    public Module Module => model;

    public Tensor Loss(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels, int batch, int time) => model.Loss(inputIds, labels, batch, time);
}
