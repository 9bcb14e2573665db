using Peft.Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// One pre-norm decoder layer: <c>h = x + self_attn(input_layernorm(x))</c>, then
/// <c>h + mlp(post_attention_layernorm(h))</c>.
/// </summary>
internal sealed class TorchLlamaDecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private readonly TorchLlamaAttention self_attn;
    private readonly TorchLlamaMlp mlp;
    private readonly TorchRmsNorm input_layernorm;
    private readonly TorchRmsNorm post_attention_layernorm;
#pragma warning restore IDE1006

    public TorchLlamaDecoderLayer(LlamaConfig config, TorchLlamaLinear? linear = null) : base(nameof(TorchLlamaDecoderLayer))
    {
        self_attn = new TorchLlamaAttention(config, linear);
        mlp = new TorchLlamaMlp(config, linear);
        input_layernorm = new TorchRmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new TorchRmsNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    // x: (B, T, C), cos/sin: (T, D) → (B, T, C)
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var h = x + self_attn.forward(input_layernorm.forward(x), cos, sin);
        return (h + mlp.forward(post_attention_layernorm.forward(h))).MoveToOuterDisposeScope();
    }
}
