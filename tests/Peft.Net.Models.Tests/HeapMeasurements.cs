namespace Peft.Net.Models.Tests;

/// <summary>Tests that measure the managed heap: xunit runs this collection alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeapMeasurements
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Heap measurements";
}
