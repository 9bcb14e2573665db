using Peft.Net.Core;

namespace Peft.Net.Models.Training;

/// <summary>
/// The order in which training examples are visited: a new seeded shuffle every epoch, taken in batches that never
/// cross an epoch boundary (the last batch of an epoch may be smaller). Its whole state (epoch, position, and the
/// generator state at the start of the epoch) goes into checkpoints, so a resumed run sees the same batches.
/// </summary>
internal sealed class DataOrder
{
    private readonly int _count;
    private readonly TensorRandom _random;
    private int[] _permutation = [];

    public DataOrder(int count, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _count = count;
        _random = new TensorRandom(seed);
        StartEpoch(0);
    }

    public int Epoch { get; private set; }

    public int Position { get; private set; }

    public ulong[] EpochStartState { get; private set; } = [];

    /// <summary>The indices of the next batch of at most <paramref name="batchSize"/> examples.</summary>
    public int[] NextBatch(int batchSize)
    {
        if (Position >= _count) StartEpoch(Epoch + 1);
        int take = Math.Min(batchSize, _count - Position);
        var indices = _permutation.AsSpan(Position, take).ToArray();
        Position += take;
        return indices;
    }

    /// <summary>Restores a state recorded from <see cref="Epoch"/>, <see cref="Position"/> and <see cref="EpochStartState"/>.</summary>
    public void Restore(int epoch, int position, ReadOnlySpan<ulong> epochStartState)
    {
        if (position < 0 || position > _count)
            throw new InvalidDataException($"The data position {position} is outside [0, {_count}]: the checkpoint was made with another dataset.");
        _random.SetState(epochStartState);
        StartEpoch(epoch);
        Position = position;
    }

    private void StartEpoch(int epoch)
    {
        Epoch = epoch;
        Position = 0;
        EpochStartState = _random.GetState();
        _permutation = Permutation(_count, _random);
    }

    /// <summary>A Fisher–Yates shuffle of 0…n−1.</summary>
    internal static int[] Permutation(int n, TensorRandom random)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }
}
