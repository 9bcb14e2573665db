namespace Peft.Net.Core.Optim;

/// <summary>Factor 1 at every step: the base learning rate throughout.</summary>
public sealed class ConstantSchedule : LrSchedule
{
    /// <inheritdoc/>
    protected override double FactorAt(int step) => 1.0;
}
