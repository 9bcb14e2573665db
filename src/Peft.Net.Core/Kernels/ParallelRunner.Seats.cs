using System.Diagnostics;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The seats of <see cref="ParallelRunner"/>: one per thread allowed to run items at once
/// (<see cref="ComputeSettings.ThreadCount"/>), held by callers and by pool workers.
/// </summary>
/// <remarks>
/// <c>_seats</c> packs both counts (callers × <see cref="CallerSeat"/> + workers) so each change is one atomic
/// operation. The invariant is callers + workers ≤ max(ThreadCount, callers): a worker takes a seat only when one is
/// free and no caller waits; a caller takes one when one is free or when no worker holds any (callers never wait for
/// each other), and otherwise waits for a worker to give one back between two items.
/// </remarks>
internal static partial class ParallelRunner
{
    private const int CallerSeat = 1 << 16;
    private const int WorkerSeat = 1;
    private const int WorkerMask = CallerSeat - 1;

    /// <summary>How long a caller spins for a seat before it blocks.</summary>
    private static readonly long SeatSpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    private static readonly object SeatGate = new();
    private static int _seats, _waitingCallers;

    private static bool CallerMaySit(int seats) =>
        (seats >> 16) + (seats & WorkerMask) < MaxThreads || (seats & WorkerMask) == 0;

    private static void TakeCallerSeat()
    {
        while (true)
        {
            int seats = Volatile.Read(ref _seats);
            if (!CallerMaySit(seats)) WaitForSeat();
            else if (Interlocked.CompareExchange(ref _seats, seats + CallerSeat, seats) == seats) return;
        }
    }

    // Announces the wait (workers then yield between items and take no seat), spins briefly, then blocks until a
    // worker gives a seat back. The timed wait only covers a raised ThreadCount, which frees seats without a pulse.
    private static void WaitForSeat()
    {
        Interlocked.Increment(ref _waitingCallers);
        try
        {
            long spinUntil = Stopwatch.GetTimestamp() + SeatSpinTicks;
            var spinner = new SpinWait();
            while (!CallerMaySit(Volatile.Read(ref _seats)))
            {
                if (Stopwatch.GetTimestamp() < spinUntil)
                {
                    spinner.SpinOnce(sleep1Threshold: -1);
                    continue;
                }
                lock (SeatGate)
                    while (!CallerMaySit(Volatile.Read(ref _seats))) Monitor.Wait(SeatGate, 10);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waitingCallers);
        }
    }

    private static bool TryTakeWorkerSeat()
    {
        while (true)
        {
            int seats = Volatile.Read(ref _seats);
            if (Volatile.Read(ref _waitingCallers) != 0 || (seats >> 16) + (seats & WorkerMask) >= MaxThreads) return false;
            if (Interlocked.CompareExchange(ref _seats, seats + WorkerSeat, seats) == seats) return true;
        }
    }

    private static void ReleaseSeat(int seat)
    {
        Interlocked.Add(ref _seats, -seat);
        if (Volatile.Read(ref _waitingCallers) != 0)
            lock (SeatGate) Monitor.PulseAll(SeatGate);
    }

    /// <summary>
    /// Whether a pool worker should give its seat back before its next item: a caller waits for one, or the seats
    /// are over <see cref="ComputeSettings.ThreadCount"/> (lowered meanwhile).
    /// </summary>
    internal static bool HelperShouldYield()
    {
        int seats = Volatile.Read(ref _seats);
        return Volatile.Read(ref _waitingCallers) != 0 || (seats >> 16) + (seats & WorkerMask) > MaxThreads;
    }

    /// <summary>Seats free for workers now (0 or more).</summary>
    private static int FreeSeats()
    {
        int seats = Volatile.Read(ref _seats);
        return Math.Max(0, MaxThreads - (seats >> 16) - (seats & WorkerMask));
    }
}
