namespace Peft.Net.Core.Tests.Testing;

/// <summary>Runs a body with <see cref="ComputeSettings.ThreadCount"/> set, restoring the previous count afterwards.</summary>
public static class WithThreads
{
    public static T Run<T>(int threads, Func<T> body)
    {
        int before = ComputeSettings.ThreadCount;
        try
        {
            ComputeSettings.ThreadCount = threads;
            return body();
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }
}
