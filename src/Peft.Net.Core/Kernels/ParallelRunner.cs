using System.Runtime.ExceptionServices;

namespace Peft.Net.Core.Kernels;

/// <summary>One unit of a parallel loop: <see cref="Execute"/> runs item <c>index</c> of <c>[0, count)</c>.</summary>
/// <remarks>
/// Items may run on any thread and in any order, so an item must depend only on its index (never on which thread
/// runs it) for results to be deterministic. Callers keep one instance per calling thread and reuse it, so a
/// parallel loop allocates nothing.
/// </remarks>
internal interface IParallelWork
{
    void Execute(int index);
}

/// <summary>
/// A parallel-for over a shared pool of background threads, for kernels that must not allocate per call; several
/// threads (two models, or training beside inference) may call it at once and share the pool.
/// </summary>
/// <remarks>
/// <para><see cref="For"/> hands items out through an atomic counter to the calling thread plus pool workers, and
/// returns when every item has run; an exception thrown by an item is rethrown on the caller once all its items are
/// done. The caller decides the items (a function of the problem and <see cref="MaxThreads"/>, never of timing);
/// the runner only decides which threads run them, so results do not depend on how busy the pool is.</para>
/// <para>Sharing: every thread working on items holds a <em>seat</em>, and there are
/// <see cref="ComputeSettings.ThreadCount"/> seats. A calling thread always works on its own job (so every caller
/// makes progress, even when there are more callers than seats); pool workers take only the seats the callers leave
/// free, join the open job with the fewest helpers, and give their seat back between two items when a newly arrived
/// caller needs it. So at most max(ThreadCount, callers) threads run items at once, and pool workers never add to an
/// oversubscribed machine.</para>
/// <para>Waiting: an idle worker spins about 100 µs for the next job, then parks; a caller spins about 50 µs for its
/// last helpers, then blocks; a caller waiting for a seat spins briefly, then blocks. Nothing spins for longer.</para>
/// <para>A call from inside an item (nested) runs inline on that thread, which already holds a seat.</para>
/// <para>Typical use: <c>ParallelRunner.For(items, threads, work)</c> with <c>work</c> a cached object whose fields
/// (pointers, sizes) were set just before the call.</para>
/// </remarks>
internal static partial class ParallelRunner
{
    /// <summary>Jobs open at once beyond this many run on their callers alone.</summary>
    private const int MaxOpenJobs = 64;

    private static readonly ParallelJob?[] OpenJobs = new ParallelJob?[MaxOpenJobs];
    private static int _openJobCount, _openJobSlots; // jobs in OpenJobs; slots ever used (a scan bound)

    [ThreadStatic] private static ParallelJob? t_job;
    [ThreadStatic] private static bool t_insideItem;

    /// <summary>The most threads a call may use: <see cref="ComputeSettings.ThreadCount"/>.</summary>
    public static int MaxThreads => ComputeSettings.ThreadCount;

    /// <summary>
    /// Runs <c>work.Execute(i)</c> for every i in [0, <paramref name="count"/>) on at most
    /// min(<paramref name="threads"/>, <paramref name="count"/>, <see cref="MaxThreads"/>) threads (fewer while other
    /// callers hold the pool's seats).
    /// </summary>
    public static void For(int count, int threads, IParallelWork work)
    {
        threads = Math.Min(Math.Min(threads, count), MaxThreads);
        if (threads <= 1 || t_insideItem)
        {
            RunInline(count, work);
            return;
        }
        var job = t_job ??= new ParallelJob();
        EnsureWorkers(threads - 1);
        TakeCallerSeat();
        ExceptionDispatchInfo? failure;
        int slot = -1;
        try
        {
            job.Start(work, count, threads - 1);
            slot = Open(job);
            if (slot >= 0) WakeWorkers(threads - 1);
            t_insideItem = true;
            job.RunItems(helper: false);
        }
        finally
        {
            t_insideItem = false;
            if (slot >= 0) Close(slot);
            failure = job.Finish();
            ReleaseSeat(CallerSeat);
        }
        failure?.Throw();
    }

    private static void RunInline(int count, IParallelWork work)
    {
        bool outer = !t_insideItem;
        t_insideItem = true;
        try
        {
            for (int i = 0; i < count; i++) work.Execute(i);
        }
        finally
        {
            if (outer) t_insideItem = false;
        }
    }

    // Makes the job visible to pool workers; −1 when every slot is taken (the caller then runs it alone).
    private static int Open(ParallelJob job)
    {
        for (int slot = 0; slot < MaxOpenJobs; slot++)
        {
            if (Volatile.Read(ref OpenJobs[slot]) is not null
                || Interlocked.CompareExchange(ref OpenJobs[slot], job, null) is not null) continue;
            int used;
            while ((used = Volatile.Read(ref _openJobSlots)) <= slot)
                Interlocked.CompareExchange(ref _openJobSlots, slot + 1, used);
            Interlocked.Increment(ref _openJobCount);
            return slot;
        }
        return -1;
    }

    private static void Close(int slot)
    {
        Volatile.Write(ref OpenJobs[slot], null);
        Interlocked.Decrement(ref _openJobCount);
    }

    /// <summary>The open job with the fewest helpers among those that take one, or null.</summary>
    private static ParallelJob? NeediestJob()
    {
        if (Volatile.Read(ref _openJobCount) == 0) return null;
        ParallelJob? best = null;
        int bestHelpers = int.MaxValue, slots = Volatile.Read(ref _openJobSlots);
        for (int slot = 0; slot < slots; slot++)
        {
            var job = Volatile.Read(ref OpenJobs[slot]);
            if (job is null) continue;
            int helpers = job.HelpersIfWanting();
            if (helpers >= 0 && helpers < bestHelpers)
            {
                best = job;
                bestHelpers = helpers;
            }
        }
        return best;
    }
}
