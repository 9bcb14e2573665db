using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Neftune;

/// <summary>
/// NEFTune (arXiv 2310.05914): an input embedding that adds uniform noise to its output in training mode only,
/// <c>y = E[ids] + U(−1, 1) · α/√(L·d)</c>, as Hugging Face transformers' hook does: L is the padded sequence length
/// of the batch (the output's dimension 1 for [B, T, d]; pads are noised too) and d the embedding size. In eval mode
/// the output is exactly the embedding's. The parameter keeps the name <c>weight</c> (the same tensor as the wrapped
/// embedding's), so state dicts and adapter files see the embedding unchanged, as with the Python hook.
/// </summary>
public sealed class NeftuneEmbedding : Module
{
    private readonly Embedding _embedding;
    private float _noiseAlpha;

    /// <summary>Wraps <paramref name="embedding"/>.</summary>
    /// <param name="embedding">The token embedding whose output is noised.</param>
    /// <param name="noiseAlpha">α, ≥ 0; the paper used 5 to 15.</param>
    /// <param name="random">Generator of the noise (seed 0 when null).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="noiseAlpha"/> is negative or not finite.</exception>
    public NeftuneEmbedding(Embedding embedding, float noiseAlpha, TensorRandom? random = null)
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (!(noiseAlpha >= 0 && float.IsFinite(noiseAlpha)))
            throw new ArgumentOutOfRangeException(nameof(noiseAlpha), noiseAlpha, "The NEFTune noise alpha must be finite and ≥ 0.");
        _embedding = embedding;
        NoiseAlpha = noiseAlpha;
        Random = random ?? new TensorRandom(0);
        var weight = embedding.Weight;
        bool trainable = weight.RequiresGrad;
        RegisterParameter("weight", weight);
        if (weight.IsLeaf && weight.DType == DType.F32) weight.RequiresGrad = trainable; // registration must not unfreeze it
        Train(embedding.IsTraining);
    }

    /// <summary>α, the noise scale (finite, ≥ 0).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float NoiseAlpha
    {
        get => _noiseAlpha;
        set => _noiseAlpha = value >= 0 && float.IsFinite(value)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The NEFTune noise alpha must be finite and ≥ 0.");
    }

    /// <summary>The generator the noise is drawn from (seed it, or save its state, for reproducible runs).</summary>
    public TensorRandom Random { get; }

    /// <summary>The table [V, d].</summary>
    public Tensor Weight => Parameter("weight")!;

    /// <summary>V: number of rows.</summary>
    public int NumEmbeddings => _embedding.NumEmbeddings;

    /// <summary>d: size of each row.</summary>
    public int EmbeddingDim => _embedding.EmbeddingDim;

    /// <summary>The wrapped embedding, holding this module's current weight (to remove the noise after training).</summary>
    public Embedding Unwrap()
    {
        if (!ReferenceEquals(_embedding.Weight, Weight)) _embedding.ReplaceParameter("weight", Weight);
        return _embedding;
    }

    // ids: (S...) → (S..., d)
    /// <summary>The rows for <paramref name="ids"/> laid out as <paramref name="idsShape"/>, plus noise in training mode.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape)
    {
        var output = Ops.Embedding(Weight, ids, idsShape);
        return IsTraining ? NeftuneNoise.Add(output, NoiseAlpha, Random) : output;
    }

    // ids: (B, T), attentionMask: (B, T) of 0/1 → (B, T, d)
    /// <summary>
    /// The original NEFTune code's variant (neelsjain/NEFTune <c>train.py</c>): per example, L_b is the number of
    /// unmasked tokens, the magnitude is α/√(L_b·d), and padding positions get no noise. Identity in eval mode.
    /// </summary>
    /// <exception cref="ArgumentException">The ids are not [B, T] or the mask does not match them.</exception>
    public Tensor ForwardMasked(ReadOnlySpan<int> ids, int[] idsShape, ReadOnlySpan<int> attentionMask)
    {
        ArgumentNullException.ThrowIfNull(idsShape);
        if (idsShape.Length != 2 || attentionMask.Length != ids.Length)
            throw new ArgumentException($"NEFTune (masked): ids must be [B, T] and the attention mask must have as many entries; got shape [{string.Join(", ", idsShape)}] and a mask of {attentionMask.Length}.");
        var output = Ops.Embedding(Weight, ids, idsShape);
        if (!IsTraining || NoiseAlpha == 0 || output.Count == 0) return output;
        int batch = idsShape[0], time = idsShape[1], d = EmbeddingDim;
        var noise = Tensor.Zeros(output.ShapeArray());
        var nv = noise.AsSpan();
        for (int b = 0; b < batch; b++)
        {
            int length = 0;
            for (int t = 0; t < time; t++) length += attentionMask[b * time + t] != 0 ? 1 : 0;
            if (length == 0) continue;
            double magnitude = NoiseAlpha / Math.Sqrt((double)length * d);
            for (int t = 0; t < time; t++)
            {
                if (attentionMask[b * time + t] == 0) continue;
                var row = nv.Slice((b * time + t) * d, d);
                for (int j = 0; j < d; j++) row[j] = (float)((2 * Random.NextDouble() - 1) * magnitude);
            }
        }
        return Ops.Add(output, noise);
    }

    /// <summary>The rows for an I32 or I64 tensor of ids, plus noise in training mode: [ids.Shape..., d].</summary>
    /// <exception cref="ArgumentException">The ids tensor is not I32 or I64.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.DType switch
        {
            DType.I32 => Forward(input.AsSpan<int>(), input.ShapeArray()),
            DType.I64 => Forward(NarrowIds(input), input.ShapeArray()),
            _ => throw new ArgumentException($"NeftuneEmbedding: ids must be an I32 or I64 tensor; {input.Describe()} is {input.DType}.", nameof(input)),
        };
    }

    private static int[] NarrowIds(Tensor input)
    {
        var wide = input.AsSpan<long>();
        var ids = new int[wide.Length];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = wide[i] is >= int.MinValue and <= int.MaxValue
                ? (int)wide[i]
                : throw new ArgumentOutOfRangeException(nameof(input), $"NeftuneEmbedding: id {wide[i]} at position {i} of {input.Describe()} does not fit an int.");
        return ids;
    }
}
