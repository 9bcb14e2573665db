using Peft.Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// Causal self-attention of a Llama layer with grouped-query heads: q_proj, k_proj, v_proj (with bias for Qwen2),
/// rotary embedding of queries and keys, the key/value heads repeated to the query heads (HF's <c>repeat_kv</c>),
/// <c>scaled_dot_product_attention</c> with the causal mask, and o_proj.
/// </summary>
internal sealed class TorchLlamaAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the module names of the state dict
    private nn.Module<Tensor, Tensor> q_proj;
    private nn.Module<Tensor, Tensor> k_proj;
    private nn.Module<Tensor, Tensor> v_proj;
    private nn.Module<Tensor, Tensor> o_proj;
#pragma warning restore IDE1006
    private readonly long _heads, _kvHeads, _headDim;

    public TorchLlamaAttention(LlamaConfig config, TorchLlamaLinear? linear = null) : base(nameof(TorchLlamaAttention))
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.ResolvedHeadDim;
        long c = config.HiddenSize;
        linear ??= TorchLlamaLinearFactory.Default;
        q_proj = linear(c, _heads * _headDim, config.QkvBias);
        k_proj = linear(c, _kvHeads * _headDim, config.QkvBias);
        v_proj = linear(c, _kvHeads * _headDim, config.QkvBias);
        o_proj = linear(_heads * _headDim, c, config.OutputProjectionBias);
        RegisterComponents();
    }

    // x: (B, T, C), cos/sin: (T, D) → (B, T, C)
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = q_proj.forward(x).view(b, t, _heads, _headDim).transpose(1, 2);     // (B, H, T, D)
        var k = k_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);   // (B, Hkv, T, D)
        var v = v_proj.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);   // (B, Hkv, T, D)
        q = TorchRotaryEmbedding.Apply(q, cos, sin);
        k = TorchRotaryEmbedding.Apply(k, cos, sin);
        if (_kvHeads != _heads)
        {
            long groups = _heads / _kvHeads;
            k = k.repeat_interleave(groups, dim: 1);                                // (B, H, T, D)
            v = v.repeat_interleave(groups, dim: 1);
        }
        var attention = nn.functional.scaled_dot_product_attention(q, k, v, null, 0.0, true);  // causal; (B, H, T, D)
        var merged = attention.transpose(1, 2).reshape(b, t, _heads * _headDim);
        return o_proj.forward(merged).MoveToOuterDisposeScope();
    }
}
