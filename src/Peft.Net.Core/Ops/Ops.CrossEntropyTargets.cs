namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// The targets of a cross-entropy over <paramref name="rows"/> rows and a vocabulary of <paramref name="vocab"/>,
    /// copied, with the number of rows that count (not <paramref name="ignoreIndex"/>); shared by the plain and the fused loss.
    /// </summary>
    /// <exception cref="ArgumentException">The number of targets differs from the number of rows.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A target is outside [0, vocab) and is not the ignore index.</exception>
    private static (int[] Targets, int Counted) CheckCrossEntropyTargets(ReadOnlySpan<int> targets, int rows, int vocab, int ignoreIndex,
        string op, Tensor rowSource, Tensor vocabSource)
    {
        if (targets.Length != rows)
            throw new ArgumentException($"{op}: {targets.Length} targets given for {rows} rows of {rowSource.Describe()}.", nameof(targets));
        var saved = targets.ToArray();
        int counted = 0;
        for (int r = 0; r < saved.Length; r++)
        {
            if (saved[r] == ignoreIndex) continue;
            if ((uint)saved[r] >= (uint)vocab)
                throw new ArgumentOutOfRangeException(nameof(targets),
                    $"{op}: target {saved[r]} at row {r} is outside [0, {vocab}) of {vocabSource.Describe()} and is not the ignore index {ignoreIndex}.");
            counted++;
        }
        return (saved, counted);
    }
}
