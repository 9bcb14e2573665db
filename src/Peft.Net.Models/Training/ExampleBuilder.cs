namespace Peft.Net.Models.Training;

/// <summary>Turns tokenized text into <see cref="TokenizedExample"/>s: prompt/completion pairs or packed plain text.</summary>
public static class ExampleBuilder
{
    /// <summary>The label value that the loss leaves out (−100, as PyTorch and Hugging Face).</summary>
    public const int IgnoreIndex = -100;

    /// <summary>
    /// <c>prompt + completion + EOS</c>, truncated to <paramref name="maxLength"/> tokens, with the labels of the prompt
    /// tokens set to −100 so that the loss is on the completion (and EOS) only.
    /// </summary>
    /// <param name="prompt">The prompt's ids (BOS included when the model wants one).</param>
    /// <param name="completion">The completion's ids.</param>
    /// <param name="eosTokenId">Appended after the completion; null appends nothing.</param>
    /// <param name="maxLength">The longest sequence kept (≥ 2).</param>
    /// <exception cref="ArgumentException">The sequence is empty.</exception>
    public static TokenizedExample PromptCompletion(ReadOnlySpan<int> prompt, ReadOnlySpan<int> completion, int? eosTokenId, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        int full = prompt.Length + completion.Length + (eosTokenId is null ? 0 : 1);
        int length = Math.Min(full, maxLength);
        var ids = new int[length];
        var labels = new int[length];
        for (int i = 0; i < length; i++)
        {
            int id = i < prompt.Length ? prompt[i] : i - prompt.Length < completion.Length ? completion[i - prompt.Length] : eosTokenId!.Value;
            ids[i] = id;
            labels[i] = i < prompt.Length ? IgnoreIndex : id;
        }
        return new TokenizedExample(ids, labels);
    }

    /// <summary>
    /// Plain-text training: the token stream (documents already joined, e.g. with EOS between them) cut into
    /// consecutive chunks of <paramref name="chunkLength"/> tokens, every token a label. A last chunk shorter than
    /// two tokens is dropped (it has nothing to predict).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunkLength"/> is below 2.</exception>
    public static IReadOnlyList<TokenizedExample> PackText(ReadOnlySpan<int> tokens, int chunkLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkLength, 2);
        var examples = new List<TokenizedExample>(tokens.Length / chunkLength + 1);
        for (int start = 0; start + 2 <= tokens.Length; start += chunkLength)
        {
            var chunk = tokens.Slice(start, Math.Min(chunkLength, tokens.Length - start)).ToArray();
            examples.Add(new TokenizedExample(chunk, (int[])chunk.Clone()));
        }
        return examples;
    }

    /// <summary>
    /// Splits <paramref name="examples"/> into a training and a held-out evaluation set: a seeded shuffle, then the first
    /// <c>round(fraction · n)</c> examples (at least one when the fraction is positive and n ≥ 2) are held out.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="evalFraction"/> is outside [0, 1).</exception>
    public static (IReadOnlyList<TokenizedExample> Train, IReadOnlyList<TokenizedExample> Eval) Split(
        IReadOnlyList<TokenizedExample> examples, double evalFraction, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (!(evalFraction >= 0 && evalFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(evalFraction), evalFraction, "The evaluation fraction must be in [0, 1).");
        int n = examples.Count;
        int evalCount = evalFraction == 0 || n < 2 ? 0 : Math.Clamp((int)Math.Round(evalFraction * n), 1, n - 1);
        var order = DataOrder.Permutation(n, new Core.TensorRandom(seed ^ 0x5EEDF00DUL));
        var eval = order.Take(evalCount).Select(i => examples[i]).ToArray();
        var train = order.Skip(evalCount).Order().Select(i => examples[i]).ToArray();
        return (train, eval);
    }
}
