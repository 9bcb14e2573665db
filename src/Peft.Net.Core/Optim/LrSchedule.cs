namespace Peft.Net.Core.Optim;

/// <summary>
/// A learning-rate multiplier as a function of the step, applied by <see cref="LrScheduler"/> to each group's base
/// learning rate like PyTorch's <c>LambdaLR</c>. The factories mirror Hugging Face transformers'
/// <c>get_*_schedule*</c> functions and compute the same doubles.
/// </summary>
public abstract class LrSchedule
{
    /// <summary>The multiplier of the base learning rate at <paramref name="step"/> (0 = before the first update).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> is negative.</exception>
    public double Factor(int step)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        return FactorAt(step);
    }

    /// <summary>The multiplier at a non-negative step.</summary>
    protected abstract double FactorAt(int step);

    /// <summary>Factor 1 at every step (HF <c>get_constant_schedule</c>).</summary>
    public static LrSchedule Constant() => new ConstantSchedule();

    /// <summary>Linear warm-up from 0 to 1 over <paramref name="warmupSteps"/>, then 1 (HF <c>get_constant_schedule_with_warmup</c>).</summary>
    public static LrSchedule ConstantWithWarmup(int warmupSteps) => new ConstantWithWarmupSchedule(warmupSteps);

    /// <summary>
    /// Linear warm-up to 1 over <paramref name="warmupSteps"/>, then linear decay to 0 at <paramref name="trainingSteps"/>
    /// (HF <c>get_linear_schedule_with_warmup</c>).
    /// </summary>
    public static LrSchedule LinearWithWarmup(int warmupSteps, int trainingSteps) => new LinearWithWarmupSchedule(warmupSteps, trainingSteps);

    /// <summary>
    /// Linear warm-up to 1 over <paramref name="warmupSteps"/>, then a cosine of <paramref name="cycles"/> periods
    /// (0.5: half a cosine down to 0 at <paramref name="trainingSteps"/>) (HF <c>get_cosine_schedule_with_warmup</c>).
    /// </summary>
    public static LrSchedule CosineWithWarmup(int warmupSteps, int trainingSteps, double cycles = 0.5) =>
        new CosineWithWarmupSchedule(warmupSteps, trainingSteps, cycles);

    /// <summary>HF's warm-up ramp: step / max(1, warmupSteps).</summary>
    private protected static double WarmupFactor(int step, int warmupSteps) => (double)step / Math.Max(1, warmupSteps);
}
