namespace Peft.Net.Core.Tests.Testing;

/// <summary>
/// Tests that set <see cref="ComputeSettings.ThreadCount"/> for a while and count threads or CPU time of the whole
/// process: xunit runs this collection alone, after the parallel ones, so no other test moves those numbers.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunnerMeasurements
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Runner measurements";
}
