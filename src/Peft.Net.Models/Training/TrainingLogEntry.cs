namespace Peft.Net.Models.Training;

/// <summary>One row of the training log.</summary>
/// <param name="Step">The step (1-based).</param>
/// <param name="Loss">Training loss of the step.</param>
/// <param name="EvalLoss">Held-out loss at this step, or null.</param>
/// <param name="LearningRate">Learning rate of the step.</param>
/// <param name="TokensPerSecond">Throughput of the step.</param>
public sealed record TrainingLogEntry(int Step, double Loss, double? EvalLoss, double LearningRate, double TokensPerSecond);
