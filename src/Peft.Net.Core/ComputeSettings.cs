namespace Peft.Net.Core;

/// <summary>
/// Process-wide settings of the compute kernels (GEMM and the other parallel kernels).
/// </summary>
public static class ComputeSettings
{
    /// <summary>Name of the environment variable that sets the default <see cref="ThreadCount"/>.</summary>
    public const string ThreadCountVariable = "PEFT_NUM_THREADS";

    private static int _threadCount = DefaultThreadCount();

    /// <summary>
    /// The most threads one kernel call uses (the calling thread included). Defaults to the positive integer in the
    /// <c>PEFT_NUM_THREADS</c> environment variable, else <see cref="Environment.ProcessorCount"/>.
    /// Setting a value ≤ 0 restores that default. Kernels never run more threads than this, so they do not
    /// oversubscribe the machine; small problems run on the calling thread alone.
    /// </summary>
    public static int ThreadCount
    {
        get => Volatile.Read(ref _threadCount);
        set => Volatile.Write(ref _threadCount, value > 0 ? value : DefaultThreadCount());
    }

    private static int DefaultThreadCount() =>
        int.TryParse(Environment.GetEnvironmentVariable(ThreadCountVariable), out int n) && n > 0
            ? n
            : Environment.ProcessorCount;
}
