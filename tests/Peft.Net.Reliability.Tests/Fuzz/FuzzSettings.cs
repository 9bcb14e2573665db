namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Size and seed of a fuzz run. <c>PEFT_FUZZ_CASES</c> is the total number of cases over all targets (each
/// target takes a fixed share); the default is sized for CI. <c>PEFT_FUZZ_SEED</c> changes the base seed;
/// <c>PEFT_FUZZ_CASE_TIMEOUT_S</c> the per-case time limit.
/// </summary>
internal static class FuzzSettings
{
    /// <summary>Total cases when PEFT_FUZZ_CASES is not set: a few thousand, well under a minute.</summary>
    public const int CiTotalCases = 3000;

    public static int TotalCases => ReadInt("PEFT_FUZZ_CASES") ?? CiTotalCases;

    public static int BaseSeed => ReadInt("PEFT_FUZZ_SEED") ?? 20261122;

    /// <summary>A case that runs longer than this is a hang (generous: the CI machines are shared).</summary>
    public static TimeSpan CaseTimeout => TimeSpan.FromSeconds(ReadInt("PEFT_FUZZ_CASE_TIMEOUT_S") ?? 10);

    /// <summary>This target's number of cases: <paramref name="share"/> of the total, at least 1.</summary>
    public static int CasesFor(double share) => Math.Max(1, (int)Math.Round(TotalCases * share));

    private static int? ReadInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int value) && value > 0 ? value : null;
}
