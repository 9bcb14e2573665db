namespace Peft.Net.Core.Optim;

/// <summary>
/// HF <c>get_linear_schedule_with_warmup</c>: step / warmup during warm-up, then
/// max(0, (training − step) / max(1, training − warmup)).
/// </summary>
public sealed class LinearWithWarmupSchedule : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="warmupSteps">Steps of linear warm-up (≥ 0).</param>
    /// <param name="trainingSteps">Total steps; the factor reaches 0 there (≥ 0).</param>
    public LinearWithWarmupSchedule(int warmupSteps, int trainingSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(trainingSteps);
        WarmupSteps = warmupSteps;
        TrainingSteps = trainingSteps;
    }

    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; }

    /// <summary>Total training steps.</summary>
    public int TrainingSteps { get; }

    /// <inheritdoc/>
    protected override double FactorAt(int step) =>
        step < WarmupSteps
            ? WarmupFactor(step, WarmupSteps)
            : Math.Max(0.0, (double)(TrainingSteps - step) / Math.Max(1, TrainingSteps - WarmupSteps));
}
