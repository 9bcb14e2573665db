namespace Peft.Net.Models.Training;

/// <summary>How a <see cref="Trainer.Train"/> call ended.</summary>
/// <param name="Steps">Steps taken in total (including those of a resumed run).</param>
/// <param name="FinalLoss">The last step's training loss.</param>
/// <param name="FinalEvalLoss">The last held-out loss, or null without evaluation data.</param>
/// <param name="SkippedSteps">Steps skipped for a non-finite loss or gradient norm.</param>
/// <param name="Cancelled">True when the cancellation token stopped the run at a step boundary.</param>
/// <param name="LastCheckpoint">The folder of the last checkpoint written, or null.</param>
/// <param name="Elapsed">Wall time of this call.</param>
public sealed record TrainingResult(int Steps, double FinalLoss, double? FinalEvalLoss, int SkippedSteps, bool Cancelled, string? LastCheckpoint, TimeSpan Elapsed);
