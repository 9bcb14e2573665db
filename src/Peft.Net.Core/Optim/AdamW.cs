using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter), bit-for-bit PyTorch 1.13's <c>torch.optim.AdamW</c> (amsgrad off): per step and
/// parameter with a gradient, <c>p ← p·(1 − lr·wd)</c>, then <c>m ← β₁m + (1−β₁)g</c>, <c>v ← β₂v + (1−β₂)g²</c>,
/// then <c>p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)</c>, where t counts that parameter's own steps.
/// The moments live in flat float arrays (state buffers "exp_avg" and "exp_avg_sq"). Not sealed, so optimizers
/// that only arrange groups (LoRA+) can derive from it.
/// </summary>
public class AdamW : Optimizer
{
    private readonly AdamWGroup[] _groups;

    /// <summary>Creates AdamW over parameter groups with their own hyper-parameters.</summary>
    /// <exception cref="ArgumentException">See <see cref="Optimizer"/>'s constructor.</exception>
    public AdamW(IEnumerable<AdamWGroup> groups)
        : this(groups?.ToArray() ?? throw new ArgumentNullException(nameof(groups)))
    {
    }

    /// <summary>Creates AdamW with one group; the defaults are PyTorch's.</summary>
    /// <param name="parameters">The F32 leaf tensors to optimise (e.g. <c>model.TrainableParameters()</c>).</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="beta1">Decay of the first moment.</param>
    /// <param name="beta2">Decay of the second moment.</param>
    /// <param name="epsilon">Added to the denominator.</param>
    /// <param name="weightDecay">Decoupled weight decay.</param>
    public AdamW(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double epsilon = 1e-8, double weightDecay = 0.01)
        : this([new AdamWGroup(parameters, learningRate, weightDecay, beta1, beta2, epsilon)])
    {
    }

    private AdamW(AdamWGroup[] groups) : base(groups, "exp_avg", "exp_avg_sq") => _groups = groups;

    /// <summary>The parameter groups with their AdamW hyper-parameters.</summary>
    public IReadOnlyList<AdamWGroup> Groups => _groups;

    /// <inheritdoc/>
    protected override string OptimizerType => "AdamW";

    /// <inheritdoc/>
    public override void Step()
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                if (!TryGetGradient(group, i, out var gradient)) continue;
                var state = GetOrCreateState(g, i);
                state.Step++;
                var coefficients = AdamWCoefficients.For(group.LearningRate, group.WeightDecay, group.Beta1, group.Beta2, group.Epsilon, state.Step);
                AdamWKernel.Update(group.Parameters[i].AsSpan(), gradient, state.Buffers[0], state.Buffers[1], coefficients);
            }
        }
    }
}
