using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// Causal self-attention of a decoder layer with grouped-query heads: q_proj, k_proj, v_proj (optionally with
/// bias, as Qwen2; one fused qkv_proj for Phi-3), optional per-head q_norm / k_norm (Qwen3, Gemma 3), rotary
/// embedding of queries and keys (rotate-half, over the first rotary_dim dimensions of each head), attention and
/// o_proj. The projections are children looked up at call time, so LoRA wrappers put in their place are used.
/// </summary>
/// <remarks>
/// Attention runs on the fused kernel (<see cref="Ops.ScaledDotProductAttention"/>) unless the layer needs what it
/// does not do: Gemma 2's score soft-capping, a sliding window shorter than the keys, or padding keys (left-padded
/// batches); then it runs <see cref="EagerAttention"/>.
/// </remarks>
public sealed class LlamaAttention : Module
{
    private readonly int _heads, _kvHeads, _headDim, _rotaryDim;
    private readonly bool _fused, _qkNorm, _customScale;
    private readonly float _scale;
    private readonly float? _softcap;
    private readonly int? _window;

    /// <summary>Creates the block for <paramref name="config"/> with random weights (as layer 0).</summary>
    public LlamaAttention(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "", 0)
    {
    }

    internal LlamaAttention(LlamaConfig config, LlamaParameterSource source, string path, int layer)
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.ResolvedHeadDim;
        _rotaryDim = config.RotaryDim;
        _fused = config.HasFusedProjections;
        _qkNorm = config.HasQkNorm;
        _scale = config.AttentionScale;
        _customScale = config.QueryPreAttnScalar is not null;
        _softcap = config.AttnLogitSoftcapping is { } cap ? (float)cap : null;
        _window = config.IsSlidingLayer(layer) ? config.SlidingWindow : null;
        int c = config.HiddenSize;
        if (_fused)
            RegisterModule("qkv_proj", source.Linear(LlamaParameterSource.Join(path, "qkv_proj"), c, (_heads + 2 * _kvHeads) * _headDim, config.QkvBias));
        else
        {
            RegisterModule("q_proj", source.Linear(LlamaParameterSource.Join(path, "q_proj"), c, _heads * _headDim, config.QkvBias));
            RegisterModule("k_proj", source.Linear(LlamaParameterSource.Join(path, "k_proj"), c, _kvHeads * _headDim, config.QkvBias));
            RegisterModule("v_proj", source.Linear(LlamaParameterSource.Join(path, "v_proj"), c, _kvHeads * _headDim, config.QkvBias));
        }
        RegisterModule("o_proj", source.Linear(LlamaParameterSource.Join(path, "o_proj"), _heads * _headDim, c, config.OutputProjectionBias));
        if (_qkNorm)
        {
            float eps = (float)config.RmsNormEps, offset = config.IsGemma ? 1f : 0f;
            RegisterModule("q_norm", source.RmsNorm(LlamaParameterSource.Join(path, "q_norm"), _headDim, eps, offset));
            RegisterModule("k_norm", source.RmsNorm(LlamaParameterSource.Join(path, "k_norm"), _headDim, eps, offset));
        }
    }

    /// <summary>The attention window of this layer, or null when it attends to the whole past.</summary>
    public int? SlidingWindow => _window;

    // x: (B, T, C) → (B, T, C)
    /// <summary>
    /// Attention of the T new positions, which sit at positions <paramref name="startPosition"/>… of their
    /// sequences; with a <paramref name="cache"/> they also attend to the <paramref name="startPosition"/> cached ones.
    /// </summary>
    internal Tensor Forward(Tensor x, RotaryEmbedding rotary, int startPosition, LayerKvCache? cache) =>
        Forward(x, rotary, new AttentionContext(x.Dim(0), x.Dim(1), startPosition, null, null), cache);

    // x: (B, T, C) → (B, T, C)
    internal Tensor Forward(Tensor x, RotaryEmbedding rotary, AttentionContext context, LayerKvCache? cache)
    {
        int b = x.Dim(0), t = x.Dim(1);
        // Everything stays in the projection layout [B, T, H, D] (time is dimension 1): rotary, the cache and the
        // attention kernels read it in place, and the output reshapes to [B, T, H·D] as a view for o_proj.
        var (q, k, v) = Project(x);
        q = q.Reshape(b, t, _heads, _headDim);
        k = k.Reshape(b, t, _kvHeads, _headDim);
        v = v.Reshape(b, t, _kvHeads, _headDim);
        if (_qkNorm)
        {
            q = Child<Module>("q_norm").Forward(q);
            k = Child<Module>("k_norm").Forward(k);
        }
        q = Rotate(q, rotary, context);
        k = Rotate(k, rotary, context);
        if (cache is not null)
            (k, v) = cache.Append(context.Start, k, v);
        int keys = k.Dim(1);
        bool eager = _softcap is not null || context.KeyMask is not null || (_window is { } w && keys > w);
        var attention = eager
            ? EagerAttention.Forward(q, k, v, _scale, _softcap, context.Mask(_kvHeads, _heads / _kvHeads, t, keys, _window))
            : Ops.ScaledDotProductAttention(q, k, v, causal: true, scale: _customScale ? _scale : null, layout: AttentionLayout.BatchTimeHeads).Reshape(b, t, _heads * _headDim);
        return Child<Module>("o_proj").Forward(attention);
    }

    // x: (B, T, C) → q (B, T, H·D), k and v (B, T, Hkv·D), or (B·T, …) each when the projections are separate
    private (Tensor Q, Tensor K, Tensor V) Project(Tensor x)
    {
        if (!_fused)
        {
            // One [B·T, C] view for the three projections: their input gradients then add into one buffer (the first
            // written, the others added by their GEMMs), not into three that the views' backward adds up.
            var rows = x.Reshape(-1, x.Dim(-1));
            return (Child<Module>("q_proj").Forward(rows), Child<Module>("k_proj").Forward(rows), Child<Module>("v_proj").Forward(rows));
        }
        // Phi-3: the rows of qkv_proj are q (H·D), then k (Hkv·D), then v (Hkv·D).
        var qkv = Child<Module>("qkv_proj").Forward(x);
        int q = _heads * _headDim, kv = _kvHeads * _headDim;
        return (LastDimension.Narrow(qkv, 0, q), LastDimension.Narrow(qkv, q, kv), LastDimension.Narrow(qkv, q + kv, kv));
    }

    // x: (B, T, Hx, D) → same; only the first rotary_dim dimensions of each head turn
    private Tensor Rotate(Tensor x, RotaryEmbedding rotary, AttentionContext context)
    {
        if (_rotaryDim == _headDim) return Apply(x, rotary, context);
        var turned = Apply(LastDimension.Narrow(x, 0, _rotaryDim), rotary, context);
        return Tensor.Concat([turned, LastDimension.Narrow(x, _rotaryDim, _headDim - _rotaryDim)], dim: -1);
    }

    private static Tensor Apply(Tensor x, RotaryEmbedding rotary, AttentionContext context) =>
        context.Positions is { } positions ? rotary.Apply(x, positions, timeDim: 1) : rotary.Apply(x, context.Start, timeDim: 1);
}
