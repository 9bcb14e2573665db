using System.Diagnostics;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The pool workers of <see cref="ParallelRunner"/>: background threads, created as the thread count asks for
/// them, that help the open jobs and park when there is nothing to do.
/// </summary>
/// <remarks>
/// A worker that runs out of work spins about <see cref="IdleSpinTicks"/> for a new job (a training step calls the
/// runner thousands of times, a few microseconds apart), then parks on its own event. A caller wakes parked workers
/// only for the helpers its job can use that no spinning worker will provide. Parking and waking meet under
/// <see cref="ParkGate"/>, and a worker looks for work once more after announcing that it parks, so no wake-up is
/// lost; a wake-up that finds nothing only costs the woken worker one more look.
/// </remarks>
internal static partial class ParallelRunner
{
    /// <summary>How long an idle worker spins for the next job before it parks.</summary>
    private static readonly long IdleSpinTicks = Stopwatch.Frequency / 10_000; // 100 µs

    private static readonly object ParkGate = new();
    private static Worker[] _workers = [];
    private static Worker?[] _parked = [];
    private static int _parkedCount, _spinningWorkers;

    private static void EnsureWorkers(int needed)
    {
        if (Volatile.Read(ref _workers).Length >= needed) return;
        lock (ParkGate)
        {
            if (_workers.Length >= needed) return;
            var workers = new Worker[needed];
            _workers.CopyTo(workers, 0);
            var parked = new Worker?[needed];
            _parked.CopyTo(parked, 0);
            _parked = parked;
            for (int i = _workers.Length; i < needed; i++) workers[i] = new Worker(i);
            Volatile.Write(ref _workers, workers);
        }
    }

    // Wakes parked workers for up to `helpers` helpers, fewer when spinning workers or the free seats cover them.
    private static void WakeWorkers(int helpers)
    {
        int wanted = Math.Min(helpers, FreeSeats()) - Volatile.Read(ref _spinningWorkers);
        if (wanted <= 0 || Volatile.Read(ref _parkedCount) == 0) return;
        lock (ParkGate)
        {
            while (wanted-- > 0 && _parkedCount > 0)
            {
                var worker = _parked[--_parkedCount]!;
                _parked[_parkedCount] = null;
                worker.Wake();
            }
        }
    }

    /// <summary>Takes a seat and joins the neediest open job, or returns null (and holds no seat).</summary>
    private static ParallelJob? TryJoinJob()
    {
        var job = NeediestJob();
        if (job is null || !TryTakeWorkerSeat()) return null;
        if (job.TryJoin()) return job;
        ReleaseSeat(WorkerSeat);
        return null;
    }

    /// <summary>A background thread that helps the open jobs and parks when there are none.</summary>
    private sealed class Worker
    {
        private readonly ManualResetEventSlim _wake = new(false, spinCount: 1);

        public Worker(int index)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Peft.Net compute {index + 1}" };
            thread.Start();
        }

        public void Wake() => _wake.Set();

        private void Loop()
        {
            t_insideItem = true; // a runner call from one of its items runs inline
            while (true)
            {
                var job = TryJoinJob();
                if (job is not null)
                {
                    job.RunItems(helper: true);
                    job.Leave();
                    ReleaseSeat(WorkerSeat);
                }
                else if (!SpinForJob())
                {
                    Park();
                }
            }
        }

        // True when a job to join showed up within the idle spin.
        private static bool SpinForJob()
        {
            Interlocked.Increment(ref _spinningWorkers);
            try
            {
                long spinUntil = Stopwatch.GetTimestamp() + IdleSpinTicks;
                var spinner = new SpinWait();
                do
                {
                    if (FreeSeats() > 0 && Volatile.Read(ref _waitingCallers) == 0 && NeediestJob() is not null) return true;
                    spinner.SpinOnce(sleep1Threshold: -1);
                }
                while (Stopwatch.GetTimestamp() < spinUntil);
                return false;
            }
            finally
            {
                Interlocked.Decrement(ref _spinningWorkers);
            }
        }

        private void Park()
        {
            lock (ParkGate)
            {
                _wake.Reset();
                _parked[_parkedCount] = this;
                Interlocked.Increment(ref _parkedCount); // a full fence before the look below
            }
            if (NeediestJob() is not null && FreeSeats() > 0)
            {
                Unpark();
                return;
            }
            _wake.Wait();
        }

        // Leaves the parked list if still on it (a waker that already took it off has set, or will set, the event:
        // the next Park resets that).
        private void Unpark()
        {
            lock (ParkGate)
            {
                for (int i = 0; i < _parkedCount; i++)
                {
                    if (!ReferenceEquals(_parked[i], this)) continue;
                    _parked[i] = _parked[--_parkedCount];
                    _parked[_parkedCount] = null;
                    return;
                }
            }
        }
    }
}
