using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// One call of <see cref="ParallelRunner.For"/>: its items, the pool workers helping with them, and the caller's
/// wait for those helpers. Each calling thread owns one instance and reuses it for every call, so a call allocates
/// nothing.
/// </summary>
/// <remarks>
/// <para>Life of a call: the caller <see cref="Start"/>s the job (open: helpers may join), runs items itself,
/// <see cref="Finish"/>es it (closed: no helper joins any more) and waits until every helper that joined has
/// <see cref="Leave"/>n. <c>_state</c> holds the open bit and the number of helpers inside, so joining, leaving and
/// closing are single atomic operations and whoever brings it to 0 (closed, nobody inside) wakes the caller.</para>
/// <para>Which thread runs an item never matters: items come from one atomic counter, and an item's result depends
/// only on its index.</para>
/// </remarks>
internal sealed class ParallelJob
{
    private const int OpenBit = 1 << 30;
    private const int HelperMask = OpenBit - 1;

    /// <summary>How long a caller spins for its last helpers before it blocks (the last items usually end together).</summary>
    private static readonly long FinishSpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private readonly object _helpersGone = new(); // the caller blocks on it (Monitor: no allocation per wait)
    private IParallelWork? _work;
    private int _count, _next, _maxHelpers, _state, _callerBlocked;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Opens the job for <paramref name="maxHelpers"/> helpers; items are <c>[0, count)</c>.</summary>
    public void Start(IParallelWork work, int count, int maxHelpers)
    {
        _work = work;
        _count = count;
        _next = 0;
        _maxHelpers = maxHelpers;
        _failure = null;
        Interlocked.Exchange(ref _state, OpenBit); // publishes the fields above to any helper that then joins
    }

    /// <summary>Helpers inside now, or −1 when the job takes no more (closed, full, or no item left).</summary>
    public int HelpersIfWanting()
    {
        int state = Volatile.Read(ref _state);
        int helpers = state & HelperMask;
        return (state & OpenBit) != 0 && helpers < _maxHelpers && Volatile.Read(ref _next) < _count ? helpers : -1;
    }

    /// <summary>A pool worker joins, if the job is open and not full; it must <see cref="Leave"/> after its items.</summary>
    public bool TryJoin()
    {
        while (true)
        {
            int state = Volatile.Read(ref _state);
            if ((state & OpenBit) == 0 || (state & HelperMask) >= _maxHelpers) return false;
            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state) return true;
        }
    }

    /// <summary>A helper is done with this job; it must not touch the job afterwards.</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _state) == 0 && Volatile.Read(ref _callerBlocked) != 0)
            lock (_helpersGone) Monitor.Pulse(_helpersGone);
    }

    /// <summary>
    /// Takes items until none is left (or, for a <paramref name="helper"/>, until a caller needs its seat: see
    /// <see cref="ParallelRunner.HelperShouldYield"/>); the first exception is kept for the caller and stops the
    /// hand-out.
    /// </summary>
    public void RunItems(bool helper)
    {
        var work = _work!;
        int count = _count;
        while (!(helper && ParallelRunner.HelperShouldYield()))
        {
            int i = Interlocked.Increment(ref _next) - 1;
            if (i >= count) return;
            try
            {
                work.Execute(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
                Volatile.Write(ref _next, count);
            }
        }
    }

    /// <summary>
    /// The caller closes the job and waits (a short spin, then blocking) for the helpers still inside; returns the
    /// first exception an item threw, if any.
    /// </summary>
    public ExceptionDispatchInfo? Finish()
    {
        if (Interlocked.Add(ref _state, -OpenBit) != 0) WaitForHelpers();
        var failure = _failure;
        _failure = null;
        _work = null;
        return failure;
    }

    private void WaitForHelpers()
    {
        long spinUntil = Stopwatch.GetTimestamp() + FinishSpinTicks;
        var spinner = new SpinWait();
        while (Volatile.Read(ref _state) != 0)
        {
            if (Stopwatch.GetTimestamp() < spinUntil)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
                continue;
            }
            // Announce the block, then look again under the lock: the last helper either saw the announcement (and
            // pulses once it can take the lock, i.e. once this thread waits) or left before it (and the look sees 0).
            Interlocked.Exchange(ref _callerBlocked, 1);
            lock (_helpersGone)
                while (Volatile.Read(ref _state) != 0) Monitor.Wait(_helpersGone);
            Volatile.Write(ref _callerBlocked, 0);
        }
    }
}
