using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Peft.Net.Core.Autograd;

/// <summary>
/// Wall time of a training step by operation, for the benchmarks' phase tables; on only when the environment variable
/// <c>PEFT_PROFILE_OPS</c> is 1 at start-up (off, it costs one static read per recorded operation). Forward: the time
/// since the previous recorded operation (or <see cref="Mark"/>) on the profiled thread is charged to the operation
/// being recorded — its kernel plus the module code between the two, which is what the step spends on it. Backward:
/// each node's backward function is timed on its own. Only the thread that called <see cref="Mark"/> is profiled.
/// </summary>
internal static class OpProfile
{
    /// <summary>True when PEFT_PROFILE_OPS=1.</summary>
    public static readonly bool Enabled = Environment.GetEnvironmentVariable("PEFT_PROFILE_OPS") == "1";

    private static readonly Dictionary<string, Entry> s_entries = [];
    private static int s_thread = -1;
    private static long s_last;

    private sealed class Entry
    {
        public long ForwardTicks, BackwardTicks;
        public int ForwardCalls, BackwardCalls;
    }

    /// <summary>Starts charging forward time on this thread from now (call at the start of a step).</summary>
    public static void Mark()
    {
        if (!Enabled) return;
        s_thread = Environment.CurrentManagedThreadId;
        s_last = Stopwatch.GetTimestamp();
    }

    /// <summary>Forgets what was measured (after a warm-up step).</summary>
    public static void Reset()
    {
        if (!Enabled) return;
        lock (s_entries) s_entries.Clear();
    }

    /// <summary>Charges the time since the last event to <paramref name="operation"/>'s forward.</summary>
    public static void Forward(string operation) => Charge(operation, s_last, forward: true);

    /// <summary>Adds one backward call of <paramref name="operation"/> that started at <paramref name="start"/>.</summary>
    public static void Backward(string operation, long start) => Charge(operation, start, forward: false);

    private static void Charge(string operation, long start, bool forward)
    {
        if (Environment.CurrentManagedThreadId != s_thread) return;
        long now = Stopwatch.GetTimestamp();
        var entry = Get(operation);
        if (forward)
        {
            entry.ForwardTicks += now - start;
            entry.ForwardCalls++;
        }
        else
        {
            entry.BackwardTicks += now - start;
            entry.BackwardCalls++;
        }
        s_last = now;
    }

    private static Entry Get(string operation)
    {
        lock (s_entries)
        {
            if (!s_entries.TryGetValue(operation, out var entry)) s_entries[operation] = entry = new Entry();
            return entry;
        }
    }

    /// <summary>A table of milliseconds per step by operation, the largest first.</summary>
    public static string Report(int steps)
    {
        var text = new StringBuilder();
        text.AppendLine("operation                        forward ms/step (calls)   backward ms/step (calls)");
        double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency / steps;
        lock (s_entries)
        {
            foreach (var (name, e) in s_entries.OrderByDescending(p => p.Value.ForwardTicks + p.Value.BackwardTicks))
                text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-32} {Ms(e.ForwardTicks),10:F2} ({e.ForwardCalls / steps,4})      {Ms(e.BackwardTicks),10:F2} ({e.BackwardCalls / steps,4})"));
            long forward = s_entries.Values.Sum(e => e.ForwardTicks), backward = s_entries.Values.Sum(e => e.BackwardTicks);
            text.Append(string.Create(CultureInfo.InvariantCulture, $"{"total",-32} {Ms(forward),10:F2}             {Ms(backward),10:F2}"));
        }
        return text.ToString();
    }
}
