namespace Peft.Net.Core.Tests.Testing;

/// <summary>Runs bodies on threads of their own, started together at a barrier, for tests of concurrent callers.</summary>
public static class Concurrently
{
    /// <summary>
    /// Runs every body on its own thread and waits for all of them; fails (instead of hanging) when one has not
    /// finished within <paramref name="timeout"/>, and rethrows the bodies' exceptions afterwards.
    /// </summary>
    public static void Run(TimeSpan timeout, params Action[] bodies)
    {
        var start = new Barrier(bodies.Length);
        var errors = new Exception?[bodies.Length];
        var threads = bodies.Select((body, i) => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                body();
            }
            catch (Exception e)
            {
                errors[i] = e;
            }
        }) { IsBackground = true }).ToArray();
        foreach (var thread in threads) thread.Start();
        foreach (var thread in threads)
            Assert.True(thread.Join(timeout), $"A caller did not finish within {timeout.TotalSeconds:F0} s (deadlock?).");
        var thrown = errors.OfType<Exception>().ToArray();
        if (thrown.Length > 0) throw new AggregateException(thrown);
    }
}
