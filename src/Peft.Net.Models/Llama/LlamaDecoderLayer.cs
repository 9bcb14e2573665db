using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// One pre-norm decoder layer: <c>h = x + self_attn(input_layernorm(x))</c>, <c>out = h + mlp(post_attention_layernorm(h))</c>.
/// Gemma's layers have four norms: <c>h = x + post_attention_layernorm(self_attn(input_layernorm(x)))</c>,
/// <c>out = h + post_feedforward_layernorm(mlp(pre_feedforward_layernorm(h)))</c>.
/// Each residual add is fused with the RMS norm that follows it (<see cref="Ops.AddRmsNorm"/>), so the layer takes
/// its input already normalised by its input_layernorm and hands the next layer (or the final norm) its input the
/// same way.
/// </summary>
public sealed class LlamaDecoderLayer : Module
{
    private readonly bool _gemma;

    /// <summary>Creates the layer for <paramref name="config"/> with random weights (as layer 0).</summary>
    public LlamaDecoderLayer(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "", 0)
    {
    }

    internal LlamaDecoderLayer(LlamaConfig config, LlamaParameterSource source, string path, int layer)
    {
        float eps = (float)config.RmsNormEps;
        _gemma = config.IsGemma;
        float offset = _gemma ? 1f : 0f;
        int c = config.HiddenSize;
        RegisterModule("input_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "input_layernorm"), c, eps, offset));
        RegisterModule("self_attn", new LlamaAttention(config, source, LlamaParameterSource.Join(path, "self_attn"), layer));
        RegisterModule("post_attention_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "post_attention_layernorm"), c, eps, offset));
        if (_gemma)
            RegisterModule("pre_feedforward_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "pre_feedforward_layernorm"), c, eps, offset));
        RegisterModule("mlp", new LlamaMlp(config, source, LlamaParameterSource.Join(path, "mlp")));
        if (_gemma)
            RegisterModule("post_feedforward_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "post_feedforward_layernorm"), c, eps, offset));
    }

    /// <summary>The norm applied to the layer's input.</summary>
    public RmsNorm InputLayerNorm => Child<RmsNorm>("input_layernorm");

    /// <summary>The layer's attention block.</summary>
    public LlamaAttention SelfAttention => Child<LlamaAttention>("self_attn");

    // residual, normed: (B, T, C) → (B, T, C), (B, T, C)
    /// <summary>
    /// Runs the layer on the residual stream <paramref name="residual"/> whose normalised form (by this layer's
    /// input_layernorm) is <paramref name="normed"/>. Returns the new residual stream and its normalisation by
    /// <paramref name="nextNorm"/> (the next layer's input_layernorm, or the model's final norm).
    /// </summary>
    internal (Tensor Residual, Tensor Normed) Forward(Tensor residual, Tensor normed, RmsNorm nextNorm, RotaryEmbedding rotary,
        int startPosition, LayerKvCache? cache) =>
        Forward(residual, normed, nextNorm, rotary, new AttentionContext(normed.Dim(0), normed.Dim(1), startPosition, null, null), cache);

    internal (Tensor Residual, Tensor Normed) Forward(Tensor residual, Tensor normed, RmsNorm nextNorm, RotaryEmbedding rotary,
        AttentionContext context, LayerKvCache? cache)
    {
        var attention = SelfAttention.Forward(normed, rotary, context, cache);
        if (!_gemma)
        {
            var (hidden, hiddenNormed) = Child<RmsNorm>("post_attention_layernorm").AddAndNorm(residual, attention);
            var mlp = Child<Module>("mlp").Forward(hiddenNormed);
            return nextNorm.AddAndNorm(hidden, mlp);
        }
        var attended = Child<RmsNorm>("post_attention_layernorm").Forward(attention);
        var (gemmaHidden, preFeedForward) = Child<RmsNorm>("pre_feedforward_layernorm").AddAndNorm(residual, attended);
        var feedForward = Child<RmsNorm>("post_feedforward_layernorm").Forward(Child<Module>("mlp").Forward(preFeedForward));
        return nextNorm.AddAndNorm(gemmaHidden, feedForward);
    }
}
