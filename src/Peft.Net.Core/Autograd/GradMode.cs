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
    /// Turns recording back on for this thread until the returned scope ends, even inside <see cref="Tensor.NoGrad"/>
    /// scopes or a backward pass (which runs without recording); the outer state comes back on dispose.
    /// </summary>
    public static EnableGradScope Enable() => new(t_disabledDepth);

    /// <summary>A scope opened by <see cref="Enable"/>.</summary>
    public readonly struct EnableGradScope : IDisposable
    {
        private readonly int _outerDepth;

        internal EnableGradScope(int outerDepth)
        {
            _outerDepth = outerDepth;
            t_disabledDepth = 0;
        }

        /// <summary>Restores the recording state that was current when the scope opened.</summary>
        public void Dispose() => t_disabledDepth = _outerDepth;
    }

    /// <summary>
    /// Attaches a backward node to <paramref name="result"/> when recording is on and any input requires a
    /// gradient; otherwise leaves it a plain leaf. Returns <paramref name="result"/>.
    /// </summary>
    public static Tensor Record(Tensor result, string operation, BackwardFunction backward, params Tensor[] inputs)
    {
        if (!IsEnabled)
            return result;
        if (OpProfile.Enabled) OpProfile.Forward(operation);
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
