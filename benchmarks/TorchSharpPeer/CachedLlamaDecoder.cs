using Peft.Net.Models;
using TorchLlama;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpPeer;

/// <summary>
/// Greedy-decoding forward pass of a <see cref="TorchLlamaForCausalLM"/> with a key/value cache, as a TorchSharp user
/// writes one for inference: the model's weights (by their Hugging Face names) through <c>nn.functional.linear</c>,
/// RMSNorm in float32, rotary tables for every position computed once, keys and values written into preallocated
/// caches (1, Hkv, maxTokens, D) — Hugging Face's StaticCache, so no step copies the cache — and
/// <c>scaled_dot_product_attention</c> over the filled part (causal for the prompt, full for one new token).
/// Only the last position goes through the final norm and the head, as the engine's <c>LogitsForLastPosition</c>.
/// Run it under <c>inference_mode</c>.
/// </summary>
internal sealed class CachedLlamaDecoder : IDisposable
{
    private sealed record Layer(Tensor InputNorm, Tensor Q, Tensor? QBias, Tensor K, Tensor? KBias, Tensor V, Tensor? VBias, Tensor O,
        Tensor PostNorm, Tensor Gate, Tensor Up, Tensor Down, Tensor Keys, Tensor Values);

    private readonly LlamaConfig _config;
    private readonly Tensor _embedding, _norm, _head, _cos, _sin;
    private readonly Layer[] _layers;
    private readonly long _heads, _kvHeads, _headDim, _maxTokens;
    private long _length;

    public CachedLlamaDecoder(TorchLlamaForCausalLM model, int maxTokens)
    {
        _config = model.Config;
        _heads = _config.NumAttentionHeads;
        _kvHeads = _config.KeyValueHeads;
        _headDim = _config.ResolvedHeadDim;
        _maxTokens = maxTokens;
        var state = model.state_dict();
        Tensor Weight(string name) => state.TryGetValue(name, out var t) ? t.detach()
            : throw new InvalidDataException($"the model has no parameter '{name}'");
        Tensor? Bias(string name) => state.TryGetValue(name, out var t) ? t.detach() : null;
        _embedding = Weight("model.embed_tokens.weight");
        _norm = Weight("model.norm.weight");
        _head = Weight("lm_head.weight");
        _layers = Enumerable.Range(0, _config.NumHiddenLayers).Select(i =>
        {
            string p = $"model.layers.{i}.";
            return new Layer(Weight(p + "input_layernorm.weight"),
                Weight(p + "self_attn.q_proj.weight"), Bias(p + "self_attn.q_proj.bias"),
                Weight(p + "self_attn.k_proj.weight"), Bias(p + "self_attn.k_proj.bias"),
                Weight(p + "self_attn.v_proj.weight"), Bias(p + "self_attn.v_proj.bias"),
                Weight(p + "self_attn.o_proj.weight"), Weight(p + "post_attention_layernorm.weight"),
                Weight(p + "mlp.gate_proj.weight"), Weight(p + "mlp.up_proj.weight"), Weight(p + "mlp.down_proj.weight"),
                zeros(1, _kvHeads, maxTokens, _headDim), zeros(1, _kvHeads, maxTokens, _headDim));
        }).ToArray();
        using var rotary = new TorchRotaryEmbedding(_config);
        (_cos, _sin) = rotary.Tables(0, maxTokens, CPU);                         // (maxTokens, D)
    }

    /// <summary>Positions already in the cache.</summary>
    public long Length => _length;

    /// <summary>Empties the cache (the next call is a prompt again).</summary>
    public void Reset() => _length = 0;

    // ids: (1, T) int64, the prompt (cache empty) or one new id → logits of the last position (V)
    public Tensor Forward(Tensor ids)
    {
        long t = ids.shape[1], start = _length;
        if (start + t > _maxTokens) throw new InvalidOperationException($"the cache holds {_maxTokens} positions; {start} + {t} do not fit");
        if (start > 0 && t != 1) throw new InvalidOperationException("after the prompt, one id per call");
        using var scope = NewDisposeScope();
        var x = _embedding.index_select(0, ids.view(-1)).view(1, t, -1);       // (1, T, C)
        var cos = _cos.narrow(0, start, t);                                      // (T, D)
        var sin = _sin.narrow(0, start, t);
        foreach (var layer in _layers)
        {
            var h = RmsNorm(x, layer.InputNorm);
            var q = nn.functional.linear(h, layer.Q, layer.QBias).view(1, t, _heads, _headDim).transpose(1, 2);     // (1, H, T, D)
            var k = nn.functional.linear(h, layer.K, layer.KBias).view(1, t, _kvHeads, _headDim).transpose(1, 2);   // (1, Hkv, T, D)
            var v = nn.functional.linear(h, layer.V, layer.VBias).view(1, t, _kvHeads, _headDim).transpose(1, 2);
            q = TorchRotaryEmbedding.Apply(q, cos, sin);
            k = TorchRotaryEmbedding.Apply(k, cos, sin);
            layer.Keys.narrow(2, start, t).copy_(k);
            layer.Values.narrow(2, start, t).copy_(v);
            var keys = layer.Keys.narrow(2, 0, start + t);                       // (1, Hkv, S, D)
            var values = layer.Values.narrow(2, 0, start + t);
            if (_kvHeads != _heads)
            {
                keys = keys.repeat_interleave(_heads / _kvHeads, dim: 1);        // (1, H, S, D)
                values = values.repeat_interleave(_heads / _kvHeads, dim: 1);
            }
            var attention = nn.functional.scaled_dot_product_attention(q, keys, values, null, 0.0, start == 0 && t > 1);  // (1, H, T, D)
            x = x + nn.functional.linear(attention.transpose(1, 2).reshape(1, t, _heads * _headDim), layer.O);
            h = RmsNorm(x, layer.PostNorm);
            x = x + nn.functional.linear(nn.functional.silu(nn.functional.linear(h, layer.Gate)) * nn.functional.linear(h, layer.Up), layer.Down);
        }
        _length = start + t;
        var last = RmsNorm(x.narrow(1, t - 1, 1), _norm);                        // (1, 1, C)
        return nn.functional.linear(last, _head).view(-1).MoveToOuterDisposeScope();   // (V)
    }

    // x: (..., C) → (..., C); Hugging Face's LlamaRMSNorm in float32
    private Tensor RmsNorm(Tensor x, Tensor weight) => weight * (x * rsqrt(x.pow(2).mean([-1L], keepdim: true) + _config.RmsNormEps));

    public void Dispose()
    {
        foreach (var layer in _layers)
        {
            layer.Keys.Dispose();
            layer.Values.Dispose();
        }
        _cos.Dispose();
        _sin.Dispose();
    }
}
