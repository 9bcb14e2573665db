using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// NEFTune (arXiv 2310.05914) on a TorchSharp embedding: in training mode the output gets uniform noise in
/// <c>[−α/√(L·d), α/√(L·d)]</c> (L the sequence length, d the embedding width), as TRL's forward hook adds it; in
/// evaluation mode it is the plain embedding. It registers the wrapped embedding's own <c>weight</c> parameter (the
/// same tensor), so the model's <c>state_dict()</c> keys do not change.
/// </summary>
public sealed class NeftuneEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Embedding _embedding;

    /// <summary>Wraps <paramref name="embedding"/> (its weight is shared, not copied).</summary>
    /// <param name="embedding">The input embedding.</param>
    /// <param name="noiseAlpha">α ≥ 0 (the paper uses 5–15).</param>
    /// <param name="generator">Generator of the noise (null: TorchSharp's default generator).</param>
    /// <exception cref="ArgumentOutOfRangeException">α is negative or not finite.</exception>
    public NeftuneEmbedding(Embedding embedding, double noiseAlpha, Generator? generator = null) : base(nameof(NeftuneEmbedding))
    {
        ArgumentNullException.ThrowIfNull(embedding);
        if (!(noiseAlpha >= 0) || double.IsInfinity(noiseAlpha))
            throw new ArgumentOutOfRangeException(nameof(noiseAlpha), noiseAlpha, "NEFTune's noise alpha must be a finite number ≥ 0.");
        _embedding = embedding;
        NoiseAlpha = noiseAlpha;
        Generator = generator;
        weight = embedding.weight!;
        register_parameter("weight", weight);
        train(embedding.training);
    }

    /// <summary>The embedding table [num_embeddings, embedding_dim] (the wrapped embedding's parameter).</summary>
#pragma warning disable IDE1006 // PyTorch's name
    public Parameter weight { get; }
#pragma warning restore IDE1006

    /// <summary>α.</summary>
    public double NoiseAlpha { get; }

    /// <summary>The generator of the noise, or null for TorchSharp's default.</summary>
    public Generator? Generator { get; }

    /// <summary>The plain embedding this layer wraps.</summary>
    public Embedding Inner => _embedding;

    // ids: (B, L) → (B, L, d)
    /// <inheritdoc/>
    public override Tensor forward(Tensor ids)
    {
        var output = _embedding.call(ids);
        if (!training || NoiseAlpha == 0) return output;
        long d = output.shape[^1];
        long length = output.ndim >= 2 ? output.shape[^2] : 1;
        double magnitude = NoiseAlpha / Math.Sqrt(length * d);
        using var noise = torch.empty_like(output).uniform_(-magnitude, magnitude, Generator);
        return output + noise;
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }
}
