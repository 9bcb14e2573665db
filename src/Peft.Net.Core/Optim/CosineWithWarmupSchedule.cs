namespace Peft.Net.Core.Optim;

/// <summary>
/// HF <c>get_cosine_schedule_with_warmup</c>: step / warmup during warm-up, then with
/// progress = (step − warmup) / max(1, training − warmup) the factor max(0, ½(1 + cos(π·cycles·2·progress))).
/// </summary>
public sealed class CosineWithWarmupSchedule : LrSchedule
{
    /// <summary>Creates the schedule.</summary>
    /// <param name="warmupSteps">Steps of linear warm-up (≥ 0).</param>
    /// <param name="trainingSteps">Total steps (≥ 0).</param>
    /// <param name="cycles">Number of cosine periods after warm-up; HF's default 0.5 decays once from 1 to 0.</param>
    public CosineWithWarmupSchedule(int warmupSteps, int trainingSteps, double cycles = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        ArgumentOutOfRangeException.ThrowIfNegative(trainingSteps);
        if (!double.IsFinite(cycles) || cycles < 0)
            throw new ArgumentOutOfRangeException(nameof(cycles), cycles, "The number of cosine cycles must be finite and ≥ 0.");
        WarmupSteps = warmupSteps;
        TrainingSteps = trainingSteps;
        Cycles = cycles;
    }

    /// <summary>Steps of linear warm-up.</summary>
    public int WarmupSteps { get; }

    /// <summary>Total training steps.</summary>
    public int TrainingSteps { get; }

    /// <summary>Number of cosine periods after warm-up.</summary>
    public double Cycles { get; }

    /// <inheritdoc/>
    protected override double FactorAt(int step)
    {
        if (step < WarmupSteps) return WarmupFactor(step, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TrainingSteps - WarmupSteps);
        // Same operation order as HF: math.pi * float(num_cycles) * 2.0 * progress.
        return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * Cycles * 2.0 * progress)));
    }
}
