namespace Peft.Net.Core.Autograd;

/// <summary>Per-thread switch that turns graph recording off inside <see cref="Tensor.NoGrad"/> scopes.</summary>
internal static class GradMode
{
    [ThreadStatic]
    private static int t_disabledDepth;

    /// <summary>True when operations on the current thread record the graph.</summary>
    public static bool IsEnabled => t_disabledDepth == 0;

    public static void Disable() => t_disabledDepth++;

    public static void Restore() => t_disabledDepth--;

    /// <summary>
    /// Attaches a backward node to <paramref name="result"/> when recording is on and any input requires a
    /// gradient; otherwise leaves it a plain leaf. Returns <paramref name="result"/>.
    /// </summary>
    public static Tensor Record(Tensor result, string operation, BackwardFunction backward, params Tensor[] inputs)
    {
        if (!IsEnabled)
            return result;
        foreach (var input in inputs)
        {
            if (input.RequiresGrad)
            {
                result.SetNode(new AutogradNode(operation, inputs, backward));
                return result;
            }
        }
        return result;
    }
}

/// <summary>A scope in which operations are not recorded for autograd (see <see cref="Tensor.NoGrad"/>).</summary>
public readonly struct NoGradScope : IDisposable
{
    private readonly bool _active;

    internal NoGradScope(bool active)
    {
        _active = active;
        if (active) GradMode.Disable();
    }

    /// <summary>Ends the scope and restores recording on this thread.</summary>
    public void Dispose()
    {
        if (_active) GradMode.Restore();
    }
}
