namespace Peft.Net.Core.Optim;

/// <summary>
/// Sets each group's learning rate to <c>base_lr · schedule.Factor(step)</c>, like PyTorch's <c>LambdaLR</c> driving
/// Hugging Face's schedules. The base is the group's <see cref="ParamGroup.InitialLearningRate"/> (taken from its
/// current learning rate when the scheduler first attaches, and saved with the optimizer state). Call
/// <see cref="Step"/> after each <see cref="Optimizer.Step"/>.
/// </summary>
public sealed class LrScheduler
{
    private readonly Optimizer _optimizer;

    /// <summary>Attaches a schedule and applies the factor of <paramref name="currentStep"/> at once.</summary>
    /// <param name="optimizer">The optimizer whose groups are driven.</param>
    /// <param name="schedule">The multiplier as a function of the step.</param>
    /// <param name="currentStep">
    /// Updates already taken: 0 for a new run; when resuming, the step count at which the optimizer state was saved
    /// (load that state first, so the groups carry their initial learning rates).
    /// </param>
    /// <exception cref="InvalidOperationException">Resuming (<paramref name="currentStep"/> &gt; 0) but a group has no initial learning rate.</exception>
    public LrScheduler(Optimizer optimizer, LrSchedule schedule, int currentStep = 0)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentOutOfRangeException.ThrowIfNegative(currentStep);
        _optimizer = optimizer;
        Schedule = schedule;
        foreach (var group in optimizer.ParamGroups)
        {
            if (group.InitialLearningRate is null && currentStep > 0)
                throw new InvalidOperationException(
                    $"Cannot resume the schedule at step {currentStep}: group '{group.Name}' has no initial learning rate. Load the optimizer state saved with the run first.");
            group.InitialLearningRate ??= group.LearningRate;
        }
        CurrentStep = currentStep;
        Apply();
    }

    /// <summary>The schedule.</summary>
    public LrSchedule Schedule { get; }

    /// <summary>Updates taken so far; the groups hold the learning rates of this step.</summary>
    public int CurrentStep { get; private set; }

    /// <summary>The base learning rate of each group.</summary>
    public IReadOnlyList<double> BaseLearningRates => _optimizer.ParamGroups.Select(g => g.InitialLearningRate!.Value).ToArray();

    /// <summary>The learning rate of each group now.</summary>
    public IReadOnlyList<double> LearningRates => _optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();

    /// <summary>Advances one step and sets every group's learning rate to base · factor(step).</summary>
    public void Step()
    {
        CurrentStep = checked(CurrentStep + 1);
        Apply();
    }

    private void Apply()
    {
        double factor = Schedule.Factor(CurrentStep);
        foreach (var group in _optimizer.ParamGroups)
            group.LearningRate = group.InitialLearningRate!.Value * factor;
    }
}
