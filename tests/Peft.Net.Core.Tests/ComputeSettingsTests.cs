namespace Peft.Net.Core.Tests;

public class ComputeSettingsTests
{
    [Fact]
    public void Thread_count_defaults_to_the_environment_or_the_core_count_and_can_be_overridden()
    {
        int before = ComputeSettings.ThreadCount;
        try
        {
            ComputeSettings.ThreadCount = 3;
            Assert.Equal(3, ComputeSettings.ThreadCount);
            ComputeSettings.ThreadCount = 0; // back to the default
            string? variable = Environment.GetEnvironmentVariable(ComputeSettings.ThreadCountVariable);
            int expected = int.TryParse(variable, out int n) && n > 0 ? n : Environment.ProcessorCount;
            Assert.Equal(expected, ComputeSettings.ThreadCount);
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }
}
