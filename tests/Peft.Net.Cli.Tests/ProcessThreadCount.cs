namespace Peft.Net.Cli.Tests;

/// <summary>
/// Tests of commands that set the process-wide <c>ComputeSettings.ThreadCount</c> (<c>--threads</c>) and report it:
/// xunit runs this collection alone, after the parallel ones, so no other test changes the count while one runs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessThreadCount
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Process thread count";
}
