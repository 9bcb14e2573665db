namespace Peft.Net.Core.Kernels;

/// <summary>
/// A loop over <c>[0, count)</c> (rows, tiles or floats) cut into fixed chunks that <see cref="ParallelRunner"/>
/// hands to its threads. The row and element-wise kernels derive one sealed class each, keep one instance per
/// calling thread, fill its pointer fields just before <see cref="RunChunks"/>, so a call allocates nothing.
/// </summary>
/// <remarks>
/// The chunk size is chosen from the problem size alone, never from the thread count, and every chunk computes
/// its part exactly as a one-thread run would, so results are bit-identical whatever the number of threads.
/// A problem of fewer than <see cref="MinParallelChunks"/> chunks runs inline on the calling thread (the same
/// chunks, in order): handing it to another thread would cost about as much as it saves.
/// </remarks>
internal abstract class ChunkedWork : IParallelWork
{
    /// <summary>About this many floats are read or written per chunk: big enough to amortise a hand-off.</summary>
    public const int FloatsPerChunk = 16384;

    /// <summary>Problems of fewer chunks than this run inline.</summary>
    public const int MinParallelChunks = 4;

    private int _count, _chunk;

    /// <summary>Units per chunk so that a chunk covers about <see cref="FloatsPerChunk"/> floats.</summary>
    public static int ChunkOf(long floatsPerUnit) => (int)Math.Max(1, FloatsPerChunk / Math.Max(1, floatsPerUnit));

    /// <summary>
    /// Runs <see cref="Run"/> over <c>[0, count)</c> in chunks of <paramref name="chunk"/> units, inline when there are
    /// fewer than <paramref name="minParallelChunks"/> of them (callers whose chunks are heavy, such as file reads or
    /// whole optimizer blocks, hand out even two).
    /// </summary>
    public void RunChunks(int count, int chunk, int minParallelChunks = MinParallelChunks)
    {
        if (count <= 0) return;
        int chunks = (int)(((long)count + chunk - 1) / chunk);
        _count = count;
        _chunk = chunk;
        if (chunks < minParallelChunks)
            for (int i = 0; i < chunks; i++) Execute(i);
        else
            ParallelRunner.For(chunks, ParallelRunner.MaxThreads, this);
    }

    /// <summary>Runs chunk <paramref name="index"/>.</summary>
    public void Execute(int index)
    {
        int start = index * _chunk;
        Run(start, (int)Math.Min((long)start + _chunk, _count));
    }

    /// <summary>Computes units <c>[start, end)</c>; must depend only on the range, never on the thread.</summary>
    protected abstract void Run(int start, int end);
}
