namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Embedding lookup: rows of <paramref name="weight"/> [V, C] selected by <paramref name="ids"/> laid out as
    /// <paramref name="idsShape"/>; the result is [idsShape..., C]. Recorded by autograd (the backward pass
    /// scatter-adds into the selected rows of the weight). F16/BF16 weights are read as float (frozen).
    /// </summary>
    /// <exception cref="ArgumentException">The weight is not 2-D, or the shape does not hold the ids.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V); the message names the id, its position and the weight.</exception>
    public static Tensor Embedding(Tensor weight, ReadOnlySpan<int> ids, params int[] idsShape)
    {
        if (weight.Rank != 2)
            throw new ArgumentException($"Embedding: the weight {weight.Describe()} must be [V, C].");
        int vocab = weight.Dim(0);
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(ids),
                    $"Embedding: id {ids[i]} at position {i} is outside the vocabulary [0, {vocab}) of {weight.Describe()}.");
        return weight.IndexRows(ids, idsShape);
    }
}
