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
        : this(config, new RandomLlamaParameters(random), "")
    {
    }

    internal LlamaMlp(LlamaConfig config, LlamaParameterSource source, string path)
    {
        int c = config.HiddenSize, f = config.IntermediateSize;
        RegisterModule("gate_proj", source.Linear(LlamaParameterSource.Join(path, "gate_proj"), c, f, config.MlpBias));
        RegisterModule("up_proj", source.Linear(LlamaParameterSource.Join(path, "up_proj"), c, f, config.MlpBias));
        RegisterModule("down_proj", source.Linear(LlamaParameterSource.Join(path, "down_proj"), f, c, config.MlpBias));
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
