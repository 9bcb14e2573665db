using System.Diagnostics;
using System.Numerics.Tensors;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// How fast this machine streams memory into the cores: sums a buffer far larger than the caches, in chunks on the
/// engine's thread pool (the thread count the command set), and reports the best of a few runs in GB/s. A decode
/// step reads every weight once, so this is the ceiling on its weight rate (bytes per token × tokens/s).
/// </summary>
internal static class ReadBandwidth
{
    /// <summary>Floats summed per run: 256 MB, several times any L3.</summary>
    public const int BufferFloats = 1 << 26;

    private const int ChunkFloats = 1 << 20;

    /// <summary>The best of <paramref name="runs"/> timed passes over the buffer (after one untimed pass), in GB/s.</summary>
    public static double Measure(int runs = 5)
    {
        var buffer = GC.AllocateUninitializedArray<float>(BufferFloats);
        buffer.AsSpan().Fill(1f);
        var work = new SumWork(buffer);
        work.RunChunks(BufferFloats, ChunkFloats);
        double best = double.MaxValue;
        for (int r = 0; r < runs; r++)
        {
            long start = Stopwatch.GetTimestamp();
            work.RunChunks(BufferFloats, ChunkFloats);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        if (work.Total() != BufferFloats) // the sums are used, so no pass can be skipped
            throw new InvalidOperationException($"read bandwidth probe: summed {work.Total()} instead of {BufferFloats}.");
        return BufferFloats * (double)sizeof(float) / best / 1e9;
    }

    /// <summary>Chunk i sums floats [i·chunk, (i + 1)·chunk) into its own slot.</summary>
    private sealed class SumWork(float[] buffer) : ChunkedWork
    {
        private readonly float[] _sums = new float[BufferFloats / ChunkFloats];

        public double Total() => _sums.Sum(x => (double)x);

        protected override void Run(int start, int end) =>
            _sums[start / ChunkFloats] = TensorPrimitives.Sum(buffer.AsSpan(start, end - start));
    }
}
