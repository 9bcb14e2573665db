namespace Peft.Net.Core.Optim;

/// <summary>
/// The optimizer state of one parameter: how many steps it has taken and its state buffers (for AdamW
/// <c>exp_avg</c> and <c>exp_avg_sq</c>, for SGD <c>momentum_buffer</c>), each as long as the parameter, in the
/// order of <see cref="OptimizerState.BufferNames"/>.
/// </summary>
public sealed class ParameterState
{
    /// <summary>Creates a state.</summary>
    /// <param name="step">Steps taken by this parameter (steps without a gradient do not count).</param>
    /// <param name="buffers">The state buffers, in the optimizer's buffer order.</param>
    public ParameterState(long step, IReadOnlyList<float[]> buffers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        ArgumentNullException.ThrowIfNull(buffers);
        Step = step;
        Buffers = buffers;
    }

    /// <summary>Steps taken by this parameter.</summary>
    public long Step { get; set; }

    /// <summary>The state buffers (flat, one element per parameter element).</summary>
    public IReadOnlyList<float[]> Buffers { get; }

    /// <summary>A deep copy.</summary>
    public ParameterState Clone() => new(Step, Buffers.Select(b => (float[])b.Clone()).ToArray());
}
