using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Training;

/// <summary>An IProgress that runs its callback synchronously on the training thread (Progress&lt;T&gt; posts asynchronously).</summary>
internal sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value) => report(value);
}
