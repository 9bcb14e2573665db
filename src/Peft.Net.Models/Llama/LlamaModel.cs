using Peft.Net.Core;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The decoder stack without the head (Hugging Face's <c>LlamaModel</c>, the "model" child of
/// <see cref="LlamaForCausalLM"/>): embed_tokens, layers.{i}, norm, and the rotary tables (rotary_emb, not saved).
/// </summary>
public sealed class LlamaModel : Module
{
    /// <summary>Creates the stack for <paramref name="config"/> with random weights.</summary>
    public LlamaModel(LlamaConfig config, TensorRandom random)
        : this(config, new RandomLlamaParameters(random), "")
    {
    }

    internal LlamaModel(LlamaConfig config, LlamaParameterSource source, string path)
    {
        Config = config;
        RegisterModule("embed_tokens", source.Embedding(LlamaParameterSource.Join(path, "embed_tokens"), config.VocabSize, config.HiddenSize));
        string layers = LlamaParameterSource.Join(path, "layers");
        RegisterModule("layers", new LlamaLayerList(Enumerable.Range(0, config.NumHiddenLayers)
            .Select(i => new LlamaDecoderLayer(config, source, LlamaParameterSource.Join(layers, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), i))
            .ToList()));
        RegisterModule("norm", source.RmsNorm(LlamaParameterSource.Join(path, "norm"), config.HiddenSize, (float)config.RmsNormEps, config.IsGemma ? 1f : 0f));
        foreach (var (name, rotary) in RotaryTables.Build(config))
            RegisterModule(name, rotary);
    }

    /// <summary>The configuration the stack was built from.</summary>
    public LlamaConfig Config { get; }

    /// <summary>The number of decoder layers.</summary>
    public int LayerCount => Config.NumHiddenLayers;

    /// <summary>
    /// Gradient checkpointing (Hugging Face's <c>gradient_checkpointing_enable()</c>): when true, each decoder layer
    /// runs through <see cref="Checkpoint"/> in training mode with recording on and no KV cache, so only the layers'
    /// inputs and outputs stay alive until the backward pass, which runs every layer's forward a second time (one more
    /// forward pass of the layers per step, for a fraction of the activation memory). Losses and gradients are
    /// bit-identical, LoRA dropout masks included.
    /// Evaluation, <see cref="Tensor.NoGrad"/> and generation run as without it. Default false.
    /// </summary>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Decoder layer <paramref name="index"/>.</summary>
    public LlamaDecoderLayer Layer(int index) => Child<LlamaLayerList>("layers")[index];

    // ids: (B, T) → (B, T, C)
    /// <summary>
    /// The final normalised hidden states of <paramref name="batch"/> sequences of <paramref name="time"/> ids each
    /// (row-major). The tokens sit at positions <c>cache.Length</c>… (0… without a cache); with a cache, their keys and
    /// values are appended to it and the cache advances by <paramref name="time"/>.
    /// </summary>
    /// <exception cref="ArgumentException">ids.Length is not batch × time, or the cache does not fit the input.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary, or a position exceeds max_position_embeddings.</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null) =>
        Forward(ids, batch, time, default, cache);

    // ids: (B, T), attentionMask: (B, cache.Length + T) → (B, T, C)
    /// <summary>
    /// <see cref="Forward(ReadOnlySpan{int}, int, int, KvCache?)"/> for left-padded batches: <paramref name="attentionMask"/>
    /// holds 1 for a real token and 0 for padding over all <c>cache.Length + T</c> positions of each sequence (row-major),
    /// as transformers' <c>attention_mask</c>. Padding keys are never attended to, and the rotary position of each
    /// token is the number of real tokens before it (<c>cumsum(mask) − 1</c>; padding gets 1, as transformers), so a
    /// padded sequence gives its real tokens the values it gives them alone. An empty mask means no padding.
    /// </summary>
    /// <exception cref="ArgumentException">The mask does not hold batch × (cache.Length + time) values of 0 or 1.</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, ReadOnlySpan<int> attentionMask, KvCache? cache = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(time);
        if (ids.Length != batch * time)
            throw new ArgumentException($"{ids.Length} ids given for batch {batch} × time {time}.", nameof(ids));
        int start = cache?.Length ?? 0;
        cache?.CheckAppend(batch, time);
        if (start + time > Config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(ids),
                $"Positions up to {start + time - 1} exceed the model's max_position_embeddings ({Config.MaxPositionEmbeddings}).");
        var context = PaddingMask.Context(attentionMask, batch, time, start);

        var hidden = Child<Module>("embed_tokens").Forward(Tensor.Wrap(ids.ToArray(), batch, time));
        if (Config.IsGemma)
            hidden = Ops.MulScalar(hidden, EmbeddingScale());
        int maxPosition = context.Positions?.Max() ?? start + time - 1;
        var rotary = Child<RotaryEmbedding>(RotaryTables.GlobalName(Config, maxPosition + 1));
        var localRotary = Config.RopeLocalBaseFreq is null ? rotary : Child<RotaryEmbedding>(RotaryTables.LocalName);
        var layers = Child<LlamaLayerList>("layers");
        var normed = layers[0].InputLayerNorm.Forward(hidden);
        var residual = hidden;
        bool checkpoint = GradientCheckpointing && IsTraining && cache is null && Tensor.IsGradEnabled;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var next = i + 1 < layers.Count ? layers[i + 1].InputLayerNorm : Child<RmsNorm>("norm");
            var layerRotary = Config.IsSlidingLayer(i) ? localRotary : rotary;
            if (checkpoint)
            {
                var outputs = Checkpoint.Run([layer, next], inputs =>
                {
                    var (r, n) = layer.Forward(inputs[0], inputs[1], next, layerRotary, context, null);
                    return [r, n];
                }, residual, normed);
                (residual, normed) = (outputs[0], outputs[1]);
            }
            else
            {
                (residual, normed) = layer.Forward(residual, normed, next, layerRotary, context, cache?.Layer(i));
            }
        }
        cache?.Advance(time);
        return normed;
    }

    /// <summary>
    /// Gemma's embedding multiplier √C, rounded to the embedding weight's dtype as Hugging Face does
    /// (<c>torch.tensor(hidden_size ** 0.5, dtype=…)</c>: √2304 = 48 exactly, √3072 becomes 55.5 in bfloat16).
    /// </summary>
    private float EmbeddingScale()
    {
        float scale = (float)Math.Sqrt(Config.HiddenSize);
        var weight = Child<Module>("embed_tokens").NamedParameters()
            .First(p => p.Name == "weight" || p.Name.EndsWith(".weight", StringComparison.Ordinal) && p.Parameter.Rank == 2).Parameter;
        return weight.DType switch
        {
            DType.BF16 => (float)(BFloat16)scale,
            DType.F16 => (float)(Half)scale,
            _ => scale,
        };
    }
}
