using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, bit-for-bit PyTorch 1.13's <c>torch.optim.SGD</c>:
/// <c>d = g + wd·p</c>; with momentum <c>b = d</c> on a parameter's first step, then <c>b = μb + (1−dampening)d</c>,
/// and <c>d = nesterov ? d + μb : b</c>; finally <c>p ← p − lr·d</c>. The momentum buffer is the state buffer
/// "momentum_buffer" (absent while momentum is 0).
/// </summary>
public sealed class Sgd : Optimizer
{
    private readonly SgdGroup[] _groups;

    /// <summary>Creates SGD over parameter groups with their own hyper-parameters.</summary>
    /// <exception cref="ArgumentException">See <see cref="Optimizer"/>'s constructor.</exception>
    public Sgd(IEnumerable<SgdGroup> groups)
        : this(groups?.ToArray() ?? throw new ArgumentNullException(nameof(groups)))
    {
    }

    /// <summary>Creates SGD with one group.</summary>
    /// <param name="parameters">The F32 leaf tensors to optimise.</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0: plain SGD).</param>
    /// <param name="dampening">Dampening of the gradient added to the momentum buffer.</param>
    /// <param name="weightDecay">L2 penalty added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    public Sgd(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false)
        : this([new SgdGroup(parameters, learningRate, momentum, dampening, weightDecay, nesterov)])
    {
    }

    private Sgd(SgdGroup[] groups) : base(groups, "momentum_buffer") => _groups = groups;

    /// <summary>The parameter groups with their SGD hyper-parameters.</summary>
    public IReadOnlyList<SgdGroup> Groups => _groups;

    /// <inheritdoc/>
    protected override string OptimizerType => "SGD";

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">A group asks for Nesterov momentum without momentum or with dampening.</exception>
    public override void Step()
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            group.CheckNesterov();
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                if (!TryGetGradient(group, i, out var gradient)) continue;
                var mode = SgdMomentumMode.None;
                Span<float> buffer = default;
                if (group.Momentum != 0)
                {
                    var state = GetOrCreateState(g, i);
                    mode = state.Step == 0 ? SgdMomentumMode.Initialize : SgdMomentumMode.Accumulate;
                    state.Step++;
                    buffer = state.Buffers[0];
                }
                var coefficients = SgdCoefficients.For(group.LearningRate, group.WeightDecay, group.Momentum, group.Dampening, group.Nesterov, mode);
                SgdKernel.Update(group.Parameters[i].AsSpan(), gradient, buffer, coefficients);
            }
        }
    }
}
