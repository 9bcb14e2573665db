namespace Peft.Net.Models;

/// <summary>
/// What the families beyond Llama add (Qwen3, Gemma 2, Gemma 3 text, Phi-3): QK-norm, Gemma's norms and scales,
/// soft-capping, per-layer sliding windows with their own rotary base, fused projections and partial / longrope
/// rotary embeddings. Every property defaults to Llama's behaviour.
/// </summary>
public sealed partial record LlamaConfig
{
    /// <summary>Layer type of a sliding-window layer in <see cref="LayerTypes"/> (<c>"sliding_attention"</c>).</summary>
    public const string SlidingAttention = "sliding_attention";

    /// <summary>Layer type of a layer that attends to the whole past in <see cref="LayerTypes"/> (<c>"full_attention"</c>).</summary>
    public const string FullAttention = "full_attention";

    /// <summary>The MLP activation (<c>hidden_act</c>, Gemma's <c>hidden_activation</c>): "silu" or "gelu_pytorch_tanh".</summary>
    public string HiddenActivation { get; init; } = "silu";

    /// <summary>Gemma: the attention scale is this to the power −½ (<c>query_pre_attn_scalar</c>); null means head_dim.</summary>
    public double? QueryPreAttnScalar { get; init; }

    /// <summary>Gemma 2: attention scores become cap·tanh(scores / cap) before the mask (<c>attn_logit_softcapping</c>); null for none.</summary>
    public double? AttnLogitSoftcapping { get; init; }

    /// <summary>Gemma: logits become cap·tanh(logits / cap) (<c>final_logit_softcapping</c>); null for none.</summary>
    public double? FinalLogitSoftcapping { get; init; }

    /// <summary>
    /// Per layer <see cref="SlidingAttention"/> or <see cref="FullAttention"/> (<c>layer_types</c>, or the pattern each
    /// family derives it from). Null means every layer slides when <see cref="SlidingWindow"/> is set (Mistral, Phi-3).
    /// </summary>
    public IReadOnlyList<string>? LayerTypes { get; init; }

    /// <summary>Gemma 3: the rotary base of the sliding layers (<c>rope_local_base_freq</c>), which use no rope scaling; null means <see cref="RopeTheta"/>.</summary>
    public double? RopeLocalBaseFreq { get; init; }

    /// <summary>The factor of a "linear" <c>rope_scaling</c> (inverse frequencies divided by it; Gemma 3: global layers only), or null.</summary>
    public double? LinearRopeScalingFactor { get; init; }

    /// <summary>Phi-3's "longrope" <c>rope_scaling</c>, or null.</summary>
    public LongRopeScaling? LongRope { get; init; }

    /// <summary>The share of each head the rotary embedding turns (<c>partial_rotary_factor</c>); the rest passes through.</summary>
    public double PartialRotaryFactor { get; init; } = 1;

    /// <summary>The model types the decoder implements, with the families added to Llama's.</summary>
    private static readonly string[] s_modelTypes = ["llama", "qwen2", "mistral", "qwen3", "gemma2", "gemma3_text", "phi3"];

    /// <summary>Gemma 2 / Gemma 3: (1 + w) norms, four norms per layer, √C embedding scale.</summary>
    public bool IsGemma => ModelType is "gemma2" or "gemma3_text";

    /// <summary>Qwen3 / Gemma 3: q_norm and k_norm over head_dim before the rotary embedding.</summary>
    public bool HasQkNorm => ModelType is "qwen3" or "gemma3_text";

    /// <summary>Phi-3: one qkv_proj and one gate_up_proj instead of q/k/v_proj and gate/up_proj.</summary>
    public bool HasFusedProjections => ModelType == "phi3";

    /// <summary>The number of leading dimensions of each head that the rotary embedding turns: int(head_dim · partial_rotary_factor).</summary>
    public int RotaryDim => (int)(ResolvedHeadDim * PartialRotaryFactor);

    /// <summary>The scale of the attention scores: <see cref="QueryPreAttnScalar"/>^−½, or head_dim^−½.</summary>
    public float AttentionScale => (float)Math.Pow(QueryPreAttnScalar ?? ResolvedHeadDim, -0.5);

    /// <summary>Whether layer <paramref name="layer"/> attends only to the last <see cref="SlidingWindow"/> positions.</summary>
    public bool IsSlidingLayer(int layer) =>
        SlidingWindow is not null && (LayerTypes is null || LayerTypes[layer] == SlidingAttention);

    /// <summary>Gemma 2's pattern: even layers slide, odd layers attend to everything.</summary>
    public static IReadOnlyList<string> Gemma2LayerTypes(int layers) =>
        Enumerable.Range(0, layers).Select(i => i % 2 == 0 ? SlidingAttention : FullAttention).ToArray();

    /// <summary>Gemma 3's pattern: layer i slides unless (i + 1) is a multiple of <paramref name="pattern"/> (6: five local, one global).</summary>
    public static IReadOnlyList<string> Gemma3LayerTypes(int layers, int pattern) =>
        Enumerable.Range(0, layers).Select(i => (i + 1) % pattern != 0 ? SlidingAttention : FullAttention).ToArray();

    private void ValidateFamily()
    {
        if (HiddenActivation is not ("silu" or "gelu_pytorch_tanh"))
            throw new NotSupportedException($"hidden_act '{HiddenActivation}' is not supported (Peft.Net implements silu and gelu_pytorch_tanh).");
        foreach (var (value, name) in new[] { (QueryPreAttnScalar, "query_pre_attn_scalar"), (AttnLogitSoftcapping, "attn_logit_softcapping"),
                     (FinalLogitSoftcapping, "final_logit_softcapping"), (RopeLocalBaseFreq, "rope_local_base_freq"), (LinearRopeScalingFactor, "rope_scaling.factor") })
            if (value is { } v && !(v > 0 && double.IsFinite(v)))
                throw new ArgumentException($"{name} must be a positive finite number; got {v}.");
        if (SlidingWindow is { } window && window <= 0)
            throw new ArgumentException($"sliding_window must be positive; got {window}.");
        if (LayerTypes is { } types)
        {
            if (types.Count != NumHiddenLayers)
                throw new ArgumentException($"layer_types lists {types.Count} layers; num_hidden_layers is {NumHiddenLayers}.");
            if (types.FirstOrDefault(t => t is not (SlidingAttention or FullAttention)) is { } unknown)
                throw new ArgumentException($"layer_types holds '{unknown}'; Peft.Net knows '{SlidingAttention}' and '{FullAttention}'.");
            if (SlidingWindow is null && types.Contains(SlidingAttention))
                throw new ArgumentException("layer_types has sliding_attention layers but sliding_window is not set.");
        }
        if (!(PartialRotaryFactor > 0 && PartialRotaryFactor <= 1) || RotaryDim < 2 || RotaryDim % 2 != 0)
            throw new ArgumentException($"partial_rotary_factor ({PartialRotaryFactor}) must be in (0, 1] and give an even rotary size of at least 2; head_dim {ResolvedHeadDim} gives {RotaryDim}.");
        if (LongRope is { } longRope)
        {
            if (longRope.ShortFactor.Count != RotaryDim / 2 || longRope.LongFactor.Count != RotaryDim / 2)
                throw new ArgumentException($"longrope short_factor and long_factor need rotary_dim / 2 = {RotaryDim / 2} values each; got {longRope.ShortFactor.Count} and {longRope.LongFactor.Count}.");
            if (longRope.ShortFactor.Concat(longRope.LongFactor).Any(f => !(f > 0 && double.IsFinite(f))))
                throw new ArgumentException("longrope factors must be positive finite numbers.");
            if (longRope.OriginalMaxPositionEmbeddings <= 1)
                throw new ArgumentException($"original_max_position_embeddings must be greater than 1; got {longRope.OriginalMaxPositionEmbeddings}.");
        }
        if (new[] { RopeScaling is not null, LinearRopeScalingFactor is not null, LongRope is not null }.Count(x => x) > 1)
            throw new ArgumentException("Only one rope_scaling (llama3, linear or longrope) can be set.");
        if (HasFusedProjections && (QkvBias || MlpBias))
            throw new ArgumentException("A phi3 model has no biases on qkv_proj, o_proj, gate_up_proj or down_proj.");
    }
}
