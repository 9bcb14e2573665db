using Peft.Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// The SwiGLU block of a Llama layer: <c>down_proj(silu(gate_proj(x)) · up_proj(x))</c>. The projections are fields
/// typed <c>nn.Module&lt;Tensor, Tensor&gt;</c>, so LoRA surgery can put its wrapper in their place.
/// </summary>
internal sealed class TorchLlamaMlp : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private nn.Module<Tensor, Tensor> gate_proj;
    private nn.Module<Tensor, Tensor> up_proj;
    private nn.Module<Tensor, Tensor> down_proj;
#pragma warning restore IDE1006

    public TorchLlamaMlp(LlamaConfig config, TorchLlamaLinear? linear = null) : base(nameof(TorchLlamaMlp))
    {
        long c = config.HiddenSize, f = config.IntermediateSize;
        linear ??= TorchLlamaLinearFactory.Default;
        gate_proj = linear(c, f, config.MlpBias);
        up_proj = linear(c, f, config.MlpBias);
        down_proj = linear(f, c, config.MlpBias);
        RegisterComponents();
    }

    // x: (B, T, C) → (B, T, C)
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var hidden = nn.functional.silu(gate_proj.forward(input)) * up_proj.forward(input);
        return down_proj.forward(hidden).MoveToOuterDisposeScope();
    }
}
