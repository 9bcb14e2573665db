namespace Peft.Net.Core.Nn;

/// <summary>
/// A lookup table [numEmbeddings, embeddingDim] whose rows are selected by integer ids, like PyTorch's
/// <c>nn.Embedding</c> (weight initialised from N(0, 1)). The parameter is named "weight".
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>Creates an embedding table.</summary>
    /// <param name="numEmbeddings">V: number of rows (vocabulary size).</param>
    /// <param name="embeddingDim">C: size of each row.</param>
    /// <param name="random">Generator for the initial weights (a fixed seed 0 when null).</param>
    public Embedding(int numEmbeddings, int embeddingDim, TensorRandom? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEmbeddings);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(embeddingDim);
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        RegisterParameter("weight", Tensor.Normal([numEmbeddings, embeddingDim], 0f, 1f, random ?? new TensorRandom(0)));
    }

    /// <summary>Wraps an existing table [V, C] without copying or random initialisation (loading a checkpoint).</summary>
    /// <exception cref="ArgumentException">The weight is not a 2-D floating tensor.</exception>
    public Embedding(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || !weight.DType.IsFloatingPoint())
            throw new ArgumentException($"An Embedding weight must be a 2-D floating tensor [V, C]; got {weight.Describe()}.", nameof(weight));
        NumEmbeddings = weight.Dim(0);
        EmbeddingDim = weight.Dim(1);
        RegisterParameter("weight", weight);
    }

    /// <summary>V: number of rows.</summary>
    public int NumEmbeddings { get; }

    /// <summary>C: size of each row.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The table [V, C] (F32 trainable, or F16/BF16 frozen after <see cref="Module.ReplaceParameter"/>).</summary>
    public Tensor Weight => Parameter("weight")!;

    // ids: (S...) → (S..., C)
    /// <summary>The rows for <paramref name="ids"/> laid out as <paramref name="idsShape"/>: result [idsShape..., C].</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V); the message names it.</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape) => Ops.Embedding(Weight, ids, idsShape);

    /// <summary>The rows for an I32 or I64 tensor of ids: result [ids.Shape..., C].</summary>
    /// <exception cref="ArgumentException">The ids tensor is not I32 or I64, or an I64 id does not fit an int.</exception>
    public override Tensor Forward(Tensor input)
    {
        var shape = input.ShapeArray();
        switch (input.DType)
        {
            case DType.I32:
                return Forward(input.AsSpan<int>(), shape);
            case DType.I64:
                var wide = input.AsSpan<long>();
                var ids = new int[wide.Length];
                for (int i = 0; i < ids.Length; i++)
                    ids[i] = wide[i] is >= int.MinValue and <= int.MaxValue
                        ? (int)wide[i]
                        : throw new ArgumentOutOfRangeException(nameof(input), $"Embedding: id {wide[i]} at position {i} of {input.Describe()} does not fit an int.");
                return Forward(ids, shape);
            default:
                throw new ArgumentException($"Embedding: ids must be an I32 or I64 tensor; {input.Describe()} is {input.DType}.", nameof(input));
        }
    }
}
