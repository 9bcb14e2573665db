namespace Peft.Net.Models.Training;

/// <summary>
/// One training sequence: input ids and labels of the same length (labels are the ids, with −100 where no loss is
/// wanted, e.g. on prompt tokens). The model shifts labels by one itself (Hugging Face convention).
/// </summary>
public sealed record TokenizedExample
{
    /// <summary>Creates an example.</summary>
    /// <exception cref="ArgumentException">The arrays are empty or differ in length.</exception>
    public TokenizedExample(int[] inputIds, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(labels);
        if (inputIds.Length == 0)
            throw new ArgumentException("A training example needs at least one token.", nameof(inputIds));
        if (labels.Length != inputIds.Length)
            throw new ArgumentException($"A training example has {inputIds.Length} input ids but {labels.Length} labels.", nameof(labels));
        InputIds = inputIds;
        Labels = labels;
    }

    /// <summary>The token ids.</summary>
    public int[] InputIds { get; }

    /// <summary>The labels (−100 = no loss).</summary>
    public int[] Labels { get; }

    /// <summary>The number of tokens.</summary>
    public int Length => InputIds.Length;
}
