using Peft.Net.Core.Autograd;

namespace Peft.Net.Core.Tests.Autograd;

public sealed class TensorBufferPoolTests
{
    [Fact]
    public void Size_classes_waste_at_most_a_quarter_and_grow_with_the_request()
    {
        int previous = 0;
        foreach (int length in new[] { 1, 3, 63, 64, 65, 1000, 1024, 1025, 1279, 1280, 1281, 4095, 4096, 4097, 100_000, 1 << 24, (1 << 24) + 1 })
        {
            int size = TensorBufferPool.SizeClass(length);
            Assert.True(size >= length, $"{length} → {size}");
            Assert.True(size >= previous, $"{length} → {size} after {previous}");
            if (length > 1024) Assert.True(size <= 1.25 * length, $"{length} → {size}");
            Assert.Equal(size, TensorBufferPool.SizeClass(size)); // a class is its own class
            previous = size;
        }
        Assert.Equal(4096, TensorBufferPool.SizeClass(4096));
        Assert.Equal(5120, TensorBufferPool.SizeClass(4097));
    }

    [Fact]
    public void A_request_reuses_an_array_of_its_class_and_zeroes_what_it_asked_for()
    {
        var pool = new TensorBufferPool();
        var first = pool.Rent(4500, zeroed: false);
        first.AsSpan().Fill(7f);
        pool.Return(first);
        var second = pool.Rent(4400, zeroed: true);
        Assert.Same(first, second);
        Assert.All(second.AsSpan(0, 4400).ToArray(), v => Assert.Equal(0f, v));
        Assert.Equal(0, pool.FreeBytes);
    }

    [Fact]
    public void Free_bytes_stay_under_twice_the_high_water_mark_and_old_classes_go_first()
    {
        var pool = new TensorBufferPool();
        // Working set 1: two arrays of 8192 floats out at once.
        var a = pool.Rent(8192, false);
        var b = pool.Rent(8192, false);
        pool.Return(a);
        pool.Return(b);
        pool.EndWorkingSet();
        Assert.Equal(2 * 8192 * 4, pool.HighWaterBytes);
        Assert.Equal(4 * 8192 * 4, pool.LimitBytes);

        // Later working sets of other sizes: the free bytes never pass the limit, the oldest class is dropped first.
        for (int round = 0; round < 6; round++)
        {
            int length = 2048 + 1024 * round;
            var x = pool.Rent(length, false);
            var y = pool.Rent(length, false);
            pool.Return(x);
            pool.Return(y);
            pool.EndWorkingSet();
            Assert.True(pool.FreeBytes <= pool.LimitBytes, $"round {round}: {pool.FreeBytes} > {pool.LimitBytes}");
        }
        var again = pool.Rent(7168, false); // the last class used is still there
        Assert.Equal(7168, again.Length);
        Assert.True(pool.FreeBytes < 4 * 8192 * 4);

        pool.Trim(0);
        Assert.Equal(0, pool.FreeBytes);
    }

    [Fact]
    public void An_explicit_limit_applies_at_once()
    {
        var pool = new TensorBufferPool();
        for (int i = 0; i < 4; i++) pool.Return(pool.Rent(4096, false));
        var arrays = Enumerable.Range(0, 4).Select(_ => pool.Rent(4096, false)).ToList();
        arrays.ForEach(pool.Return);
        Assert.Equal(4 * 4096 * 4, pool.FreeBytes);
        pool.ExplicitLimitBytes = 2 * 4096 * 4;
        Assert.Equal(2 * 4096 * 4, pool.FreeBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.ExplicitLimitBytes = -1);
    }
}
