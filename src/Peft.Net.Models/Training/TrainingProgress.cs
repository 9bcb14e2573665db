namespace Peft.Net.Models.Training;

/// <summary>What <see cref="Trainer.Train"/> reports after each optimizer step.</summary>
/// <param name="Step">Steps taken so far (1 after the first).</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Loss">The step's training loss (token-weighted mean over its micro-batches; NaN/∞ when skipped).</param>
/// <param name="LearningRate">The learning rate the step used (first parameter group).</param>
/// <param name="TokensPerSecond">Real (non-padding) tokens of the step divided by its wall time.</param>
/// <param name="EvalLoss">The held-out loss when it was computed at this step, else null.</param>
/// <param name="Skipped">True when the step was skipped because the loss or gradient norm was not finite.</param>
public sealed record TrainingProgress(int Step, int TotalSteps, double Loss, double LearningRate, double TokensPerSecond, double? EvalLoss, bool Skipped);
