using Peft.Net.Core;
using Peft.Net.Core.Autograd;

namespace Peft.Net.Models;

/// <summary>
/// The keys and values of past positions for every layer of a <see cref="LlamaForCausalLM"/>, so that a decode step
/// computes attention for its new tokens only. Each layer owns preallocated buffers [B, maxLength, Hkv, D]; a
/// forward pass with the cache appends its T positions at <see cref="Length"/> and attends to all
/// <c>Length + T</c>. The cache holds plain values without autograd history: use it for inference, under
/// <see cref="Tensor.NoGrad"/>.
/// </summary>
public sealed class KvCache
{
    private readonly LayerKvCache[] _layers;

    /// <summary>Creates an empty cache for <paramref name="batch"/> sequences of up to <paramref name="maxLength"/> positions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">batch or maxLength is not positive, or maxLength exceeds max_position_embeddings.</exception>
    public KvCache(LlamaConfig config, int batch, int maxLength)
        : this(config, batch, maxLength, null)
    {
    }

    // pool: where the layers' buffers come from (and go back to with ReturnBuffers), or null for new arrays
    /// <summary>A cache whose buffers are rented from <paramref name="pool"/>: <see cref="ReturnBuffers"/> gives them back.</summary>
    internal KvCache(LlamaConfig config, int batch, int maxLength, TensorBufferPool? pool)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        if (maxLength > config.MaxPositionEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(maxLength),
                $"A KV cache of {maxLength} positions exceeds the model's max_position_embeddings ({config.MaxPositionEmbeddings}).");
        Batch = batch;
        MaxLength = maxLength;
        _layers = new LayerKvCache[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
            _layers[i] = new LayerKvCache(batch, config.KeyValueHeads, maxLength, config.ResolvedHeadDim, pool);
    }

    /// <summary>B: the number of sequences.</summary>
    public int Batch { get; }

    /// <summary>The number of positions the buffers hold at most.</summary>
    public int MaxLength { get; }

    /// <summary>The number of positions stored so far (the position of the next token).</summary>
    public int Length { get; private set; }

    /// <summary>Forgets every stored position (the buffers are kept for reuse).</summary>
    public void Reset() => Length = 0;

    internal LayerKvCache Layer(int index) => _layers[index];

    /// <summary>Checks that <paramref name="time"/> more positions of <paramref name="batch"/> sequences fit.</summary>
    internal void CheckAppend(int batch, int time)
    {
        if (batch != Batch)
            throw new ArgumentException($"The KV cache holds {Batch} sequences; the input has {batch}.");
        if (Length + time > MaxLength)
            throw new InvalidOperationException(
                $"The KV cache holds {MaxLength} positions; {Length} are used and {time} more do not fit. Create a larger cache.");
        if (Tensor.IsGradEnabled)
            throw new InvalidOperationException("The KV cache stores values without autograd history; run cached forward passes under Tensor.NoGrad().");
    }

    /// <summary>Marks <paramref name="time"/> more positions as stored, after every layer has appended them.</summary>
    internal void Advance(int time) => Length += time;

    /// <summary>
    /// Gives rented buffers back to their pool (a cache made without one has none to give); the cache must not be used
    /// afterwards, nor any keys or values it handed out.
    /// </summary>
    internal void ReturnBuffers()
    {
        foreach (var layer in _layers) layer.ReturnBuffers();
        Length = MaxLength; // a later append fails CheckAppend instead of writing into returned arrays
    }
}
