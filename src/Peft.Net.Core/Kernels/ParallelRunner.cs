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
/// A small parallel-for over a fixed pool of background threads, for kernels that must not allocate per call.
/// </summary>
/// <remarks>
/// <para><see cref="For"/> hands items out through an atomic counter to the calling thread plus up to
/// <c>threads − 1</c> pool workers, and returns when every item has run; an exception thrown by an item is rethrown
/// on the caller once all items are done.</para>
/// <para>It never oversubscribes: at most <see cref="ComputeSettings.ThreadCount"/> threads work at once. A call
/// made while the pool is busy (from another thread, or from inside an item) runs its items inline on the calling
/// thread instead of waiting.</para>
/// <para>Typical use: <c>ParallelRunner.For(items, threads, work)</c> with <c>work</c> a cached object whose fields
/// (pointers, sizes) were set just before the call.</para>
/// </remarks>
internal static class ParallelRunner
{
    private static readonly object PoolLock = new();
    private static readonly List<Worker> Workers = [];
    private static int _busy;

    [ThreadStatic] private static bool t_insideItem;

    // The job in flight (valid while _busy == 1).
    private static IParallelWork? _work;
    private static int _count;
    private static int _next;
    private static int _pending;
    private static ExceptionDispatchInfo? _failure;

    /// <summary>The most threads a call may use: <see cref="ComputeSettings.ThreadCount"/>.</summary>
    public static int MaxThreads => ComputeSettings.ThreadCount;

    /// <summary>
    /// Runs <c>work.Execute(i)</c> for every i in [0, <paramref name="count"/>) on at most
    /// min(<paramref name="threads"/>, <paramref name="count"/>, <see cref="MaxThreads"/>) threads.
    /// </summary>
    public static void For(int count, int threads, IParallelWork work)
    {
        threads = Math.Min(Math.Min(threads, count), MaxThreads);
        if (threads <= 1 || t_insideItem || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            RunInline(count, work);
            return;
        }
        try
        {
            EnsureWorkers(threads - 1);
            _work = work;
            _count = count;
            _next = 0;
            _failure = null;
            Volatile.Write(ref _pending, threads - 1);
            for (int w = 0; w < threads - 1; w++) Workers[w].Wake();
            RunShare();
            var spinner = new SpinWait();
            while (Volatile.Read(ref _pending) != 0) spinner.SpinOnce(sleep1Threshold: -1);
            _failure?.Throw();
        }
        finally
        {
            _work = null;
            Volatile.Write(ref _busy, 0);
        }
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

    // Takes items until none are left; records the first exception and stops taking items after it.
    private static void RunShare()
    {
        var work = _work!;
        t_insideItem = true;
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count)
            {
                try
                {
                    work.Execute(i);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                    Volatile.Write(ref _next, _count);
                }
            }
        }
        finally
        {
            t_insideItem = false;
        }
    }

    private static void EnsureWorkers(int needed)
    {
        if (Workers.Count >= needed) return;
        lock (PoolLock)
            while (Workers.Count < needed) Workers.Add(new Worker(Workers.Count));
    }

    /// <summary>A background thread that waits for a job, takes items, and reports when it has no more.</summary>
    private sealed class Worker
    {
        private readonly SemaphoreSlim _signal = new(0);

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Peft.Net compute {index + 1}" };
            thread.Start();
        }

        public void Wake() => _signal.Release();

        private void Loop()
        {
            while (true)
            {
                _signal.Wait();
                RunShare();
                Interlocked.Decrement(ref _pending);
            }
        }
    }
}
