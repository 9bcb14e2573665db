using System.Diagnostics;

namespace Peft.Net.Cli.Commands;

/// <summary>Wall and process CPU time spent in one phase of a step, summed over the timed steps.</summary>
internal sealed class PhaseMeter(Process process)
{
    private readonly Stopwatch _wall = new();
    private TimeSpan _cpu, _cpuAtStart;

    public double WallMs => _wall.Elapsed.TotalMilliseconds;

    public void Start()
    {
        _cpuAtStart = process.TotalProcessorTime;
        _wall.Start();
    }

    public void Stop()
    {
        _wall.Stop();
        _cpu += process.TotalProcessorTime - _cpuAtStart;
    }

    public void Reset()
    {
        _wall.Reset();
        _cpu = TimeSpan.Zero;
    }

    /// <summary>CPU time over wall time × threads (1 = every thread busy the whole phase; spin-waits count as busy).</summary>
    public double Utilisation(int threads) => WallMs <= 0 ? 0 : _cpu.TotalMilliseconds / (WallMs * threads);
}
