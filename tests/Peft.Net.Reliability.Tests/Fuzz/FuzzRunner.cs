using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>One mutated input: what was done to it, and its bytes.</summary>
internal sealed record FuzzCase(int Index, int Seed, string Mutation, byte[] Input);

/// <summary>
/// Runs a seeded mutation loop: builds each case from its own seed (so any case can be replayed), hands it to the
/// code under test, and checks that it either succeeds or throws one of an allow-listed set of exception types
/// whose message passes <c>checkMessage</c>. Anything else — an exception type not on the list, a case that runs
/// past <see cref="FuzzSettings.CaseTimeout"/>, or a case that allocates more than
/// <c>allocationFactor × input + allocationSlack</c> bytes — is a failure. Failing inputs are saved under
/// <c>fuzz-failures/</c> beside the test assembly.
/// </summary>
internal sealed class FuzzRunner
{
    private const int MaxFailuresReported = 12;

    public required string Target { get; init; }
    public required int Cases { get; init; }
    public required Func<int, Random, FuzzCase> MakeCase { get; init; }
    public required Action<FuzzCase> Exercise { get; init; }
    public required IReadOnlyList<Type> Allowed { get; init; }
    public Action<FuzzCase, Exception>? CheckMessage { get; init; }
    public double AllocationFactor { get; init; } = 16;
    public long AllocationSlack { get; init; } = 1 << 20;

    public FuzzReport Run(ITestOutputHelper output)
    {
        var report = new FuzzReport(Target);
        int current = -1;
        long caseStarted = 0;
        FuzzCase? running = null;
        var failures = new List<string>();
        Exception? crash = null;
        var worker = new Thread(() =>
        {
            try
            {
                for (int i = 0; i < Cases; i++)
                {
                    int seed = CaseSeed(Target, i);
                    var fuzzCase = MakeCase(i, new Random(seed)) with { Index = i, Seed = seed };
                    Volatile.Write(ref running, fuzzCase);
                    Volatile.Write(ref caseStarted, Stopwatch.GetTimestamp());
                    Volatile.Write(ref current, i);
                    RunOne(fuzzCase, report, failures);
                }
            }
            catch (Exception e)
            {
                crash = e; // a failure of the harness itself (MakeCase), not of the code under test
            }
            finally
            {
                Volatile.Write(ref current, int.MaxValue);
            }
        }, 64 << 20) { IsBackground = true, Name = $"fuzz {Target}" };

        var total = Stopwatch.StartNew();
        worker.Start();
        while (!worker.Join(100))
        {
            int index = Volatile.Read(ref current);
            if (index < 0 || index == int.MaxValue) continue;
            var elapsed = Stopwatch.GetElapsedTime(Volatile.Read(ref caseStarted));
            if (elapsed > FuzzSettings.CaseTimeout && Volatile.Read(ref current) == index && Volatile.Read(ref running) is { } hung)
                Assert.Fail($"{Target}: case {index} (seed {hung.Seed}, {hung.Mutation}; input saved to {Save(hung)}) has run for " +
                            $"{elapsed.TotalSeconds:F1} s (limit {FuzzSettings.CaseTimeout.TotalSeconds} s): a hang.");
        }
        report.Elapsed = total.Elapsed;
        if (crash is not null)
            throw new InvalidOperationException($"{Target}: the fuzz harness failed", crash);
        output.WriteLine(report.ToString());
        if (failures.Count > 0)
            Assert.Fail($"{Target}: {report.Failures} of {Cases} cases failed (first {failures.Count}):\n" + string.Join("\n", failures));
        return report;
    }

    private void RunOne(FuzzCase fuzzCase, FuzzReport report, List<string> failures)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        string? failure = null;
        try
        {
            Exercise(fuzzCase);
            report.Accepted++;
        }
        catch (Exception e) when (Allowed.Any(t => t.IsInstanceOfType(e)))
        {
            try
            {
                if (string.IsNullOrWhiteSpace(e.Message))
                    throw new InvalidOperationException("the exception has no message");
                CheckMessage?.Invoke(fuzzCase, e);
                report.Count(e.GetType().Name);
            }
            catch (Exception check)
            {
                failure = $"unhelpful {e.GetType().Name} ({check.Message}): {e.Message}";
            }
        }
        catch (Exception e)
        {
            failure = $"unexpected {e.GetType().FullName}: {e.Message}\n      " + string.Join("\n      ", (e.StackTrace ?? "").Split('\n').Take(4).Select(l => l.Trim()));
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        double budget = AllocationFactor * fuzzCase.Input.Length + AllocationSlack;
        report.MaxAllocated = Math.Max(report.MaxAllocated, allocated);
        report.MaxAllocationRatio = Math.Max(report.MaxAllocationRatio, (double)allocated / Math.Max(1, fuzzCase.Input.Length));
        if (failure is null && allocated > budget)
            failure = $"allocated {allocated} bytes for a {fuzzCase.Input.Length}-byte input (budget {budget:F0})";
        if (failure is null) return;
        report.Failures++;
        if (failures.Count >= MaxFailuresReported) return;
        string saved = Save(fuzzCase);
        failures.Add($"  case {fuzzCase.Index} (seed {fuzzCase.Seed}, {fuzzCase.Mutation}; input saved to {saved}): {failure}");
    }

    /// <summary>The seed of case <paramref name="index"/>: stable across runs and processes (unlike HashCode).</summary>
    public static int CaseSeed(string target, int index)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in target) h = (h ^ c) * 1099511628211UL;
        h ^= (ulong)(uint)FuzzSettings.BaseSeed << 32 | (uint)index;
        h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdUL;
        h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53UL;
        return (int)(h ^ (h >> 33));
    }

    private string Save(FuzzCase fuzzCase)
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "fuzz-failures", Target);
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, $"case-{fuzzCase.Index}.bin");
        File.WriteAllBytes(path, fuzzCase.Input);
        return path;
    }
}

/// <summary>Counts of one target's outcomes.</summary>
internal sealed class FuzzReport(string target)
{
    private readonly SortedDictionary<string, int> _rejections = new(StringComparer.Ordinal);

    public int Accepted { get; set; }
    public int Failures { get; set; }
    public long MaxAllocated { get; set; }
    public double MaxAllocationRatio { get; set; }
    public TimeSpan Elapsed { get; set; }
    public IReadOnlyDictionary<string, int> Rejections => _rejections;

    public void Count(string exceptionType) =>
        _rejections[exceptionType] = _rejections.GetValueOrDefault(exceptionType) + 1;

    public override string ToString()
    {
        var text = new StringBuilder($"{target}: {Accepted + _rejections.Values.Sum() + Failures} cases in {Elapsed.TotalSeconds:F1} s; accepted {Accepted}");
        foreach (var (type, count) in _rejections) text.Append($", {type} {count}");
        text.Append($", failures {Failures}; max allocation {MaxAllocated} bytes ({MaxAllocationRatio:F1}x input)");
        return text.ToString();
    }
}
