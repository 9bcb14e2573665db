namespace Peft.Net.Models.Training;

/// <summary>
/// Training stopped because too many consecutive steps had a non-finite loss or gradient norm
/// (<see cref="TrainerOptions.MaxConsecutiveSkippedSteps"/>): the model or the learning rate has diverged.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception for <paramref name="step"/> after <paramref name="consecutiveSkips"/> skipped steps.</summary>
    public TrainingDivergedException(int step, int consecutiveSkips, string lastProblem)
        : base($"Training diverged: {consecutiveSkips} consecutive steps up to step {step} had a non-finite loss or gradient norm (last: {lastProblem}). " +
               "Lower the learning rate, enable gradient clipping, or resume from an earlier checkpoint.")
    {
        Step = step;
        ConsecutiveSkips = consecutiveSkips;
    }

    /// <summary>The step at which training stopped.</summary>
    public int Step { get; }

    /// <summary>How many consecutive steps were skipped.</summary>
    public int ConsecutiveSkips { get; }
}
