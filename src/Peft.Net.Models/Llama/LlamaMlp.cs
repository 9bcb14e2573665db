using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The SwiGLU feed-forward block of a Llama layer: <c>down_proj(silu(gate_proj(x)) · up_proj(x))</c>. The three
/// projections are <see cref="Linear"/> children looked up at call time, so a LoRA wrapper put in their place is used.
/// </summary>
public sealed class LlamaMlp : Module
{
    /// <summary>Creates the block for <paramref name="config"/> with random weights.</summary>
    public LlamaMlp(LlamaConfig config, TensorRandom random)
    {
        RegisterModule("gate_proj", new Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, random));
        RegisterModule("up_proj", new Linear(config.HiddenSize, config.IntermediateSize, config.MlpBias, random));
        RegisterModule("down_proj", new Linear(config.IntermediateSize, config.HiddenSize, config.MlpBias, random));
    }

    // x: (B, T, C) → (B, T, C)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var gate = Child<Module>("gate_proj").Forward(input);
        var up = Child<Module>("up_proj").Forward(input);
        return Child<Module>("down_proj").Forward(Ops.SiluMul(gate, up));
    }
}
