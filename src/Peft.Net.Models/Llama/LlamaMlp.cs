using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The gated feed-forward block of a decoder layer: <c>down_proj(act(gate_proj(x)) · up_proj(x))</c> with act SiLU
/// (SwiGLU) or, for Gemma, tanh-approximated GELU (GeGLU). Phi-3 computes gate and up in one fused
/// <c>gate_up_proj</c> (gate = the first I rows, up = the last I). The projections are children looked up at call
/// time, so a LoRA wrapper put in their place is used.
/// </summary>
public sealed class LlamaMlp : Module
{
    private readonly bool _fused, _gelu;
    private readonly int _intermediate;

    /// <summary>Creates the block for <paramref name="config"/> with random weights.</summary>
    public LlamaMlp(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "")
    {
    }

    internal LlamaMlp(LlamaConfig config, LlamaParameterSource source, string path)
    {
        int c = config.HiddenSize, f = config.IntermediateSize;
        _fused = config.HasFusedProjections;
        _gelu = config.HiddenActivation == "gelu_pytorch_tanh";
        _intermediate = f;
        if (_fused)
            RegisterModule("gate_up_proj", source.Linear(LlamaParameterSource.Join(path, "gate_up_proj"), c, 2 * f, config.MlpBias));
        else
        {
            RegisterModule("gate_proj", source.Linear(LlamaParameterSource.Join(path, "gate_proj"), c, f, config.MlpBias));
            RegisterModule("up_proj", source.Linear(LlamaParameterSource.Join(path, "up_proj"), c, f, config.MlpBias));
        }
        RegisterModule("down_proj", source.Linear(LlamaParameterSource.Join(path, "down_proj"), f, c, config.MlpBias));
    }

    // x: (B, T, C) → (B, T, C)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor gate, up;
        if (_fused)
        {
            var gateUp = Child<Module>("gate_up_proj").Forward(input); // (B, T, 2I)
            (gate, up) = (LastDimension.Narrow(gateUp, 0, _intermediate), LastDimension.Narrow(gateUp, _intermediate, _intermediate));
        }
        else
        {
            // One [B·T, C] view for both projections: their input gradients add into one buffer (see LlamaAttention).
            var rows = input.Reshape(-1, input.Dim(-1));
            (gate, up) = (Child<Module>("gate_proj").Forward(rows), Child<Module>("up_proj").Forward(rows));
        }
        var hidden = _gelu ? Ops.Mul(Ops.Gelu(gate, GeluApproximation.Tanh), up) : Ops.SiluMul(gate, up);
        var output = Child<Module>("down_proj").Forward(hidden);
        return _fused ? output : output.Reshape(input.ShapeArray());
    }
}
