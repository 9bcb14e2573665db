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
            .Select(i => new LlamaDecoderLayer(config, source, LlamaParameterSource.Join(layers, i.ToString(System.Globalization.CultureInfo.InvariantCulture))))
            .ToList()));
        RegisterModule("norm", source.RmsNorm(LlamaParameterSource.Join(path, "norm"), config.HiddenSize, (float)config.RmsNormEps));
        RegisterModule("rotary_emb", new RotaryEmbedding(config.ResolvedHeadDim, config.MaxPositionEmbeddings, config.RopeTheta, config.RopeScaling));
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
    /// <exception cref="NotSupportedException">The sequence is longer than the model's sliding window.</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, int batch, int time, KvCache? cache = null)
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
        if (Config.SlidingWindow is { } window && start + time > window)
            throw new NotSupportedException(
                $"The sequence reaches {start + time} positions, beyond the model's sliding_window of {window}; Peft.Net attends to the whole past and does not implement sliding-window attention.");

        var hidden = Child<Module>("embed_tokens").Forward(Tensor.Wrap(ids.ToArray(), batch, time));
        var rotary = Child<RotaryEmbedding>("rotary_emb");
        var layers = Child<LlamaLayerList>("layers");
        var normed = layers[0].InputLayerNorm.Forward(hidden);
        var residual = hidden;
        bool checkpoint = GradientCheckpointing && IsTraining && cache is null && Tensor.IsGradEnabled;
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i];
            var next = i + 1 < layers.Count ? layers[i + 1].InputLayerNorm : Child<RmsNorm>("norm");
            if (checkpoint)
            {
                var outputs = Checkpoint.Run([layer, next], inputs =>
                {
                    var (r, n) = layer.Forward(inputs[0], inputs[1], next, rotary, start, null);
                    return [r, n];
                }, residual, normed);
                (residual, normed) = (outputs[0], outputs[1]);
            }
            else
            {
                (residual, normed) = layer.Forward(residual, normed, next, rotary, start, cache?.Layer(i));
            }
        }
        cache?.Advance(time);
        return normed;
    }
}
