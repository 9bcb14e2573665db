using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// Causal self-attention of a Llama layer with grouped-query heads: q_proj, k_proj, v_proj (optionally with
/// bias, as Qwen2), rotary embedding of queries and keys (rotate-half), fused scaled-dot-product attention and
/// o_proj. The projections are children looked up at call time, so LoRA wrappers put in their place are used.
/// </summary>
public sealed class LlamaAttention : Module
{
    private readonly int _heads, _kvHeads, _headDim;

    /// <summary>Creates the block for <paramref name="config"/> with random weights.</summary>
    public LlamaAttention(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "")
    {
    }

    internal LlamaAttention(LlamaConfig config, LlamaParameterSource source, string path)
    {
        _heads = config.NumAttentionHeads;
        _kvHeads = config.KeyValueHeads;
        _headDim = config.ResolvedHeadDim;
        int c = config.HiddenSize;
        RegisterModule("q_proj", source.Linear(LlamaParameterSource.Join(path, "q_proj"), c, _heads * _headDim, config.QkvBias));
        RegisterModule("k_proj", source.Linear(LlamaParameterSource.Join(path, "k_proj"), c, _kvHeads * _headDim, config.QkvBias));
        RegisterModule("v_proj", source.Linear(LlamaParameterSource.Join(path, "v_proj"), c, _kvHeads * _headDim, config.QkvBias));
        RegisterModule("o_proj", source.Linear(LlamaParameterSource.Join(path, "o_proj"), _heads * _headDim, c, config.OutputProjectionBias));
    }

    // x: (B, T, C) → (B, T, C)
    /// <summary>
    /// Attention of the T new positions, which sit at positions <paramref name="startPosition"/>… of their
    /// sequences; with a <paramref name="cache"/> they also attend to the <paramref name="startPosition"/> cached ones.
    /// </summary>
    internal Tensor Forward(Tensor x, RotaryEmbedding rotary, int startPosition, LayerKvCache? cache)
    {
        int b = x.Dim(0), t = x.Dim(1);
        // Everything stays in the projection layout [B, T, H, D] (time is dimension 1): rotary, the cache and the
        // attention kernels read it in place, and the output reshapes to [B, T, H·D] as a view for o_proj.
        var q = rotary.Apply(Child<Module>("q_proj").Forward(x).Reshape(b, t, _heads, _headDim), startPosition, timeDim: 1);
        var k = rotary.Apply(Child<Module>("k_proj").Forward(x).Reshape(b, t, _kvHeads, _headDim), startPosition, timeDim: 1);
        var v = Child<Module>("v_proj").Forward(x).Reshape(b, t, _kvHeads, _headDim);
        if (cache is not null)
            (k, v) = cache.Append(startPosition, k, v);
        var attention = Ops.ScaledDotProductAttention(q, k, v, causal: true, layout: AttentionLayout.BatchTimeHeads);
        return Child<Module>("o_proj").Forward(attention.Reshape(b, t, _heads * _headDim));
    }
}
