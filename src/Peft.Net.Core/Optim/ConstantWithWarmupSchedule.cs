namespace Peft.Net.Core.Optim;

/// <summary>HF <c>get_constant_schedule_with_warmup</c>: step / warmup during warm-up, then 1.</summary>
public sealed class ConstantWithWarmupSchedule : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="warmupSteps">Steps of linear warm-up (≥ 0).</param>
    public ConstantWithWarmupSchedule(int warmupSteps)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        WarmupSteps = warmupSteps;
    }

    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; }

    /// <inheritdoc/>
    protected override double FactorAt(int step) => step < WarmupSteps ? WarmupFactor(step, WarmupSteps) : 1.0;
}
