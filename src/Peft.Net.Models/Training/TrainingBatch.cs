namespace Peft.Net.Models.Training;

/// <summary>
/// A right-padded batch: ids and labels [B, T] row-major; padded positions hold the pad id and label −100.
/// </summary>
/// <param name="InputIds">B × T ids.</param>
/// <param name="Labels">B × T labels.</param>
/// <param name="Batch">B.</param>
/// <param name="Time">T: the longest example of the batch.</param>
/// <param name="TokenCount">Real (non-padding) tokens.</param>
/// <param name="LossTokenCount">Positions that contribute to the loss (label of the next position is not −100).</param>
public sealed record TrainingBatch(int[] InputIds, int[] Labels, int Batch, int Time, int TokenCount, int LossTokenCount)
{
    /// <summary>Pads <paramref name="examples"/> on the right to the longest one.</summary>
    /// <exception cref="ArgumentException">No examples.</exception>
    public static TrainingBatch Collate(IReadOnlyList<TokenizedExample> examples, int padTokenId)
    {
        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0) throw new ArgumentException("A batch needs at least one example.", nameof(examples));
        int time = examples.Max(e => e.Length);
        int batch = examples.Count;
        var ids = new int[batch * time];
        var labels = new int[batch * time];
        Array.Fill(ids, padTokenId);
        Array.Fill(labels, ExampleBuilder.IgnoreIndex);
        int tokens = 0, lossTokens = 0;
        for (int b = 0; b < batch; b++)
        {
            var e = examples[b];
            e.InputIds.CopyTo(ids, b * time);
            e.Labels.CopyTo(labels, b * time);
            tokens += e.Length;
            for (int t = 1; t < e.Length; t++)
                if (e.Labels[t] != ExampleBuilder.IgnoreIndex) lossTokens++;
        }
        return new TrainingBatch(ids, labels, batch, time, tokens, lossTokens);
    }
}
