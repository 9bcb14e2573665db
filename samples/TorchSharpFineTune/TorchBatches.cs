using Peft.Net.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchSharpFineTune;

/// <summary>The engine's tokenized examples as TorchSharp batches: right-padded ids and labels (−100 on padding), int64 [B, T].</summary>
internal static class TorchBatches
{
    /// <summary>Pads <paramref name="examples"/> with <paramref name="padId"/> (labels −100) into two int64 tensors.</summary>
    public static (Tensor Ids, Tensor Labels, int LossTokens) Collate(IReadOnlyList<TokenizedExample> examples, int padId)
    {
        var batch = TrainingBatch.Collate(examples, padId);
        long[] shape = [batch.Batch, batch.Time];
        return (tensor(batch.InputIds.Select(i => (long)i).ToArray(), shape), tensor(batch.Labels.Select(i => (long)i).ToArray(), shape),
            batch.LossTokenCount);
    }

    /// <summary>Batches of <paramref name="size"/> drawn from a fresh permutation of <paramref name="examples"/> every epoch.</summary>
    public static IEnumerable<IReadOnlyList<TokenizedExample>> Shuffled(IReadOnlyList<TokenizedExample> examples, int size, int seed)
    {
        var random = new Random(seed);
        while (true)
        {
            var order = Enumerable.Range(0, examples.Count).ToArray();
            random.Shuffle(order);
            for (int start = 0; start + size <= order.Length; start += size)
                yield return order.Skip(start).Take(size).Select(i => examples[i]).ToArray();
        }
    }
}
