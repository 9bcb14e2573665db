using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// One pre-norm decoder layer: <c>h = x + self_attn(input_layernorm(x))</c>, <c>out = h + mlp(post_attention_layernorm(h))</c>.
/// Each residual add is fused with the RMS norm that follows it (<see cref="Ops.AddRmsNorm"/>), so the layer takes
/// its input already normalised by its input_layernorm and hands the next layer (or the final norm) its input the
/// same way.
/// </summary>
public sealed class LlamaDecoderLayer : Module
{
    /// <summary>Creates the layer for <paramref name="config"/> with random weights.</summary>
    public LlamaDecoderLayer(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "")
    {
    }

    internal LlamaDecoderLayer(LlamaConfig config, LlamaParameterSource source, string path)
    {
        float eps = (float)config.RmsNormEps;
        RegisterModule("input_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "input_layernorm"), config.HiddenSize, eps));
        RegisterModule("self_attn", new LlamaAttention(config, source, LlamaParameterSource.Join(path, "self_attn")));
        RegisterModule("post_attention_layernorm", source.RmsNorm(LlamaParameterSource.Join(path, "post_attention_layernorm"), config.HiddenSize, eps));
        RegisterModule("mlp", new LlamaMlp(config, source, LlamaParameterSource.Join(path, "mlp")));
    }

    /// <summary>The norm applied to the layer's input.</summary>
    public RmsNorm InputLayerNorm => Child<RmsNorm>("input_layernorm");

    // residual, normed: (B, T, C) → (B, T, C), (B, T, C)
    /// <summary>
    /// Runs the layer on the residual stream <paramref name="residual"/> whose normalised form (by this layer's
    /// input_layernorm) is <paramref name="normed"/>. Returns the new residual stream and its normalisation by
    /// <paramref name="nextNorm"/> (the next layer's input_layernorm, or the model's final norm).
    /// </summary>
    internal (Tensor Residual, Tensor Normed) Forward(Tensor residual, Tensor normed, RmsNorm nextNorm, RotaryEmbedding rotary,
        int startPosition, LayerKvCache? cache)
    {
        var attention = Child<LlamaAttention>("self_attn").Forward(normed, rotary, startPosition, cache);
        var (hidden, hiddenNormed) = Child<RmsNorm>("post_attention_layernorm").AddAndNorm(residual, attention);
        var mlp = Child<Module>("mlp").Forward(hiddenNormed);
        return nextNorm.AddAndNorm(hidden, mlp);
    }
}
