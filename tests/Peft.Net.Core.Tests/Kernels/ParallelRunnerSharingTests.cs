using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>
/// <see cref="ParallelRunner"/> shared by several calling threads: every caller finishes and progresses while the
/// others run, pool workers help several callers at once, no more than <see cref="ComputeSettings.ThreadCount"/>
/// threads run items at once, results are bit-identical to one thread, idle workers park, failures and nested calls
/// stay with their caller.
/// </summary>
[Collection(RunnerMeasurements.Name)]
public class ParallelRunnerSharingTests
{
    private const int ItemsPerJob = 32;

    /// <summary>What the items of all callers record together.</summary>
    private sealed class Probe
    {
        public int Running, MaxRunning, SharedMoments;
        public ProbeWork[] Works = [];

        public void Enter()
        {
            int running = Interlocked.Increment(ref Running);
            int max;
            while ((max = Volatile.Read(ref MaxRunning)) < running) Interlocked.CompareExchange(ref MaxRunning, running, max);
        }
    }

    /// <summary>
    /// Item i of job <see cref="Seed"/>: a fixed float computation of (seed, i) written to <c>Output[i]</c>; it also
    /// counts the items running at once and, when a pool worker runs it, whether another caller's job is open and
    /// has had pool help too (two jobs helped at once: a single-job pool runs every other caller's job alone).
    /// </summary>
    private sealed class ProbeWork(Probe probe, int iterations) : IParallelWork
    {
        public float[] Output = [];
        public int Seed, OwnerThread, InCall, HelpedThisCall;
        public long HelpedItems;

        public void Execute(int index)
        {
            probe.Enter();
            bool helped = Environment.CurrentManagedThreadId != OwnerThread;
            if (helped)
            {
                Interlocked.Increment(ref HelpedThisCall);
                Interlocked.Increment(ref HelpedItems);
                foreach (var other in probe.Works)
                {
                    if (other == this || Volatile.Read(ref other.InCall) == 0 || Volatile.Read(ref other.HelpedThisCall) == 0) continue;
                    Interlocked.Increment(ref probe.SharedMoments);
                    break;
                }
            }
            try
            {
                float x = Seed * 0.001f + index * 0.37f, sum = 0;
                for (int i = 0; i < iterations; i++)
                {
                    x = x * 0.999f + 0.5f / (1 + i);
                    sum += MathF.Sin(x);
                }
                Output[index] = sum;
            }
            finally
            {
                Interlocked.Decrement(ref probe.Running);
            }
        }
    }

    private sealed class ThrowingWork : IParallelWork
    {
        public void Execute(int index)
        {
            if (index == 3) throw new InvalidOperationException("item 3 failed");
        }
    }

    private sealed class NestingWork(IParallelWork inner, int innerCount) : IParallelWork
    {
        public void Execute(int index) => ParallelRunner.For(innerCount, 4, inner);
    }

    private sealed class CountingWork(int count) : IParallelWork
    {
        public readonly int[] Hits = new int[count];

        public void Execute(int index) => Interlocked.Increment(ref Hits[index]);
    }

    /// <summary>Runs <paramref name="bodies"/> on their own threads, started together; fails after a minute.</summary>
    private static void RunTogether(params Action[] bodies) => Concurrently.Run(TimeSpan.FromMinutes(1), bodies);

    // jobs × ItemsPerJob outputs of caller `caller`, run one job after another on the calling thread.
    private static void RunJobs(ProbeWork work, int caller, float[][] outputs, ref int completed)
    {
        work.OwnerThread = Environment.CurrentManagedThreadId;
        for (int j = 0; j < outputs.Length; j++)
        {
            work.Output = outputs[j];
            work.Seed = caller * 1000 + j;
            Volatile.Write(ref work.HelpedThisCall, 0);
            Volatile.Write(ref work.InCall, 1);
            ParallelRunner.For(ItemsPerJob, ItemsPerJob, work);
            Volatile.Write(ref work.InCall, 0);
            Interlocked.Increment(ref completed);
        }
    }

    private static float[][] NewOutputs(int jobs) =>
        Enumerable.Range(0, jobs).Select(_ => new float[ItemsPerJob]).ToArray();

    [Theory]
    [InlineData(2, 2)]
    [InlineData(2, 4)]
    [InlineData(4, 4)]
    [InlineData(4, 6)]
    public void Concurrent_callers_all_progress_share_the_workers_and_match_one_thread(int callers, int threadCount)
    {
        const int jobs = 150, iterations = 600;
        var reference = WithThreads.Run(1, () =>
        {
            var probe = new Probe();
            return Enumerable.Range(0, callers).Select(c =>
            {
                var outputs = NewOutputs(jobs);
                int done = 0;
                RunJobs(new ProbeWork(probe, iterations), c, outputs, ref done);
                return outputs;
            }).ToArray();
        });

        var shared = new Probe();
        var works = Enumerable.Range(0, callers).Select(_ => new ProbeWork(shared, iterations)).ToArray();
        shared.Works = works;
        var results = Enumerable.Range(0, callers).Select(_ => NewOutputs(jobs)).ToArray();
        var completed = new int[callers];
        int[]? othersWhenFirstFinished = null;
        WithThreads.Run(threadCount, () =>
        {
            RunTogether(Enumerable.Range(0, callers).Select(c => (Action)(() =>
            {
                RunJobs(works[c], c, results[c], ref completed[c]);
                var snapshot = Enumerable.Range(0, callers).Select(i => Volatile.Read(ref completed[i])).ToArray();
                Interlocked.CompareExchange(ref othersWhenFirstFinished, snapshot, null);
            })).ToArray());
            return 0;
        });

        for (int c = 0; c < callers; c++)
        for (int j = 0; j < jobs; j++)
            TensorAssert.BitEqual(reference[c][j], results[c][j], $"caller {c} job {j}");
        Assert.All(completed, n => Assert.Equal(jobs, n));
        // Every caller had finished jobs by the time the first one was done: nobody waited for the others to end.
        Assert.All(othersWhenFirstFinished!, n => Assert.True(n > 0, $"a caller had finished no job when the first caller was done ({string.Join(", ", othersWhenFirstFinished!)})"));
        Assert.True(shared.MaxRunning <= threadCount,
            $"{shared.MaxRunning} items ran at once with ThreadCount = {threadCount} and {callers} callers.");
        if (threadCount >= callers + 2)
        {
            // Seats are left for pool workers: each caller got help, and workers helped two open jobs of different
            // callers (a single-job pool runs a second caller's job on that caller alone).
            string counts = $"helped items per caller: {string.Join(", ", works.Select(w => w.HelpedItems))}";
            Assert.All(works, w => Assert.True(w.HelpedItems > 0, $"a caller's items never ran on a pool worker ({counts})"));
            Assert.True(shared.SharedMoments > 0, $"pool workers never helped two callers' open jobs at once ({counts})");
        }
    }

    [Fact]
    public void Idle_workers_park_instead_of_spinning()
    {
        var probe = new Probe();
        WithThreads.Run(4, () =>
        {
            RunTogether(
                () => { int done = 0; RunJobs(new ProbeWork(probe, 200), 0, NewOutputs(100), ref done); },
                () => { int done = 0; RunJobs(new ProbeWork(probe, 200), 1, NewOutputs(100), ref done); });
            return 0;
        });
        Thread.Sleep(50); // idle spins last about 100 µs
        var (before, workers) = PoolCpuTime();
        Thread.Sleep(300);
        var busy = PoolCpuTime().Time - before;
        Assert.True(workers >= 3, $"found {workers} pool worker threads, expected the 3 of ThreadCount = 4");
        // Spinning workers would burn CPU here (up to 2 × 300 ms on an idle 2-core machine; 50 ms was measured with a
        // load of 24 on 2 cores); parked ones burn none. The bound is two scheduler ticks (Linux counts in 10 ms).
        // Elsewhere only the whole process's time is known (the runtime's own threads included): a third of a core.
        var bound = TimeSpan.FromMilliseconds(OperatingSystem.IsLinux() ? 20 : 100);
        Assert.True(busy <= bound, $"the pool workers used {busy.TotalMilliseconds:F0} ms of CPU in a 300 ms idle window");
    }

    /// <summary>
    /// CPU time (user + system) of the runner's pool threads and their number, from /proc/self/task on Linux (the
    /// OS thread name is the first 15 characters of "Peft.Net compute N"); elsewhere the whole process's time.
    /// </summary>
    private static (TimeSpan Time, int Threads) PoolCpuTime()
    {
        if (!OperatingSystem.IsLinux()) return (Environment.CpuUsage.TotalTime, 3);
        long ticks = 0;
        int threads = 0;
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith("Peft.Net comput", StringComparison.Ordinal)) continue;
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
                string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11]) + long.Parse(fields[12]);
                threads++;
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }
        return (TimeSpan.FromMilliseconds(ticks * 10.0), threads); // USER_HZ is 100 on Linux
    }

    [Fact]
    public void A_failing_item_reaches_only_its_caller_while_another_caller_runs()
    {
        const int jobs = 60, iterations = 300;
        var reference = WithThreads.Run(1, () =>
        {
            var outputs = NewOutputs(jobs);
            int done = 0;
            RunJobs(new ProbeWork(new Probe(), iterations), 0, outputs, ref done);
            return outputs;
        });
        var results = NewOutputs(jobs);
        var failures = 0;
        WithThreads.Run(4, () =>
        {
            RunTogether(
                () => { int done = 0; RunJobs(new ProbeWork(new Probe(), iterations), 0, results, ref done); },
                () =>
                {
                    for (int i = 0; i < 50; i++)
                    {
                        var ex = Assert.Throws<InvalidOperationException>(() => ParallelRunner.For(10, 4, new ThrowingWork()));
                        Assert.Equal("item 3 failed", ex.Message);
                        failures++;
                    }
                });
            return 0;
        });
        Assert.Equal(50, failures);
        for (int j = 0; j < jobs; j++) TensorAssert.BitEqual(reference[j], results[j], $"job {j}");
        var after = new CountingWork(100);
        WithThreads.Run(4, () =>
        {
            ParallelRunner.For(100, 4, after);
            return 0;
        });
        Assert.All(after.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void Nested_calls_from_concurrent_callers_finish()
    {
        var inners = Enumerable.Range(0, 3).Select(_ => new CountingWork(40)).ToArray();
        WithThreads.Run(3, () =>
        {
            RunTogether(inners.Select(inner => (Action)(() =>
            {
                for (int i = 0; i < 20; i++) ParallelRunner.For(8, 3, new NestingWork(inner, 40));
            })).ToArray());
            return 0;
        });
        Assert.All(inners, inner => Assert.All(inner.Hits, h => Assert.Equal(20 * 8, h)));
    }

    [Fact]
    public void A_call_allocates_nothing_alone_or_beside_another_caller()
    {
        var probe = new Probe();
        WithThreads.Run(4, () =>
        {
            var work = new ProbeWork(probe, 20) { Output = new float[ItemsPerJob], OwnerThread = Environment.CurrentManagedThreadId };
            for (int i = 0; i < 100; i++) ParallelRunner.For(ItemsPerJob, 4, work); // warm up: the thread's job, the workers
            long alone = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 1000; i++) ParallelRunner.For(ItemsPerJob, 4, work);
            alone = GC.GetAllocatedBytesForCurrentThread() - alone;

            long beside = 0;
            RunTogether(
                () =>
                {
                    var mine = new ProbeWork(probe, 20) { Output = new float[ItemsPerJob], OwnerThread = Environment.CurrentManagedThreadId };
                    for (int i = 0; i < 100; i++) ParallelRunner.For(ItemsPerJob, 4, mine);
                    beside = GC.GetAllocatedBytesForCurrentThread();
                    for (int i = 0; i < 1000; i++) ParallelRunner.For(ItemsPerJob, 4, mine);
                    beside = GC.GetAllocatedBytesForCurrentThread() - beside;
                },
                () =>
                {
                    var other = new ProbeWork(probe, 20) { Output = new float[ItemsPerJob], OwnerThread = Environment.CurrentManagedThreadId };
                    for (int i = 0; i < 1100; i++) ParallelRunner.For(ItemsPerJob, 4, other);
                });
            Assert.True(alone == 0, $"{alone} bytes allocated by 1000 calls alone");
            Assert.True(beside == 0, $"{beside} bytes allocated by 1000 calls beside another caller");
            return 0;
        });
    }
}
