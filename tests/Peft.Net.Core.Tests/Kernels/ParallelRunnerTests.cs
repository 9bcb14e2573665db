using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Tests.Kernels;

public class ParallelRunnerTests
{
    private sealed class CountingWork(int count) : IParallelWork
    {
        public readonly int[] Hits = new int[count];
        public IParallelWork? Inner;
        public int InnerCount;

        public void Execute(int index)
        {
            Interlocked.Increment(ref Hits[index]);
            if (Inner is not null) ParallelRunner.For(InnerCount, 4, Inner);
        }
    }

    private sealed class ThrowingWork : IParallelWork
    {
        public void Execute(int index)
        {
            if (index == 3) throw new InvalidOperationException("item 3 failed");
        }
    }

    [Fact]
    public void Every_item_runs_exactly_once()
    {
        foreach (int count in new[] { 0, 1, 2, 3, 17, 1000 })
        foreach (int threads in new[] { 1, 2, 4 })
        {
            var work = new CountingWork(count);
            ParallelRunner.For(count, threads, work);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }
    }

    [Fact]
    public void Nested_loops_run_inline_and_concurrent_loops_share_the_pool_without_deadlocking()
    {
        var inner = new CountingWork(50);
        var outer = new CountingWork(8) { Inner = inner, InnerCount = 50 };
        ParallelRunner.For(8, 4, outer);
        Assert.All(outer.Hits, h => Assert.Equal(1, h));
        Assert.All(inner.Hits, h => Assert.Equal(8, h));

        var works = Enumerable.Range(0, 4).Select(_ => new CountingWork(200)).ToArray();
        Parallel.ForEach(works, w => ParallelRunner.For(200, 2, w));
        Assert.All(works, w => Assert.All(w.Hits, h => Assert.Equal(1, h)));
    }

    [Fact]
    public void An_exception_in_an_item_reaches_the_caller_and_the_pool_stays_usable()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => ParallelRunner.For(10, 2, new ThrowingWork()));
        Assert.Equal("item 3 failed", ex.Message);
        var work = new CountingWork(10);
        ParallelRunner.For(10, 2, work);
        Assert.All(work.Hits, h => Assert.Equal(1, h));
    }
}
