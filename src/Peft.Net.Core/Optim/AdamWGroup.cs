namespace Peft.Net.Core.Optim;

/// <summary>A parameter group of <see cref="AdamW"/>: learning rate, decoupled weight decay, betas and epsilon.</summary>
public sealed class AdamWGroup : ParamGroup
{
    private double _beta1;
    private double _beta2;
    private double _epsilon;

    /// <summary>Creates a group; the defaults are PyTorch's <c>torch.optim.AdamW</c> defaults.</summary>
    /// <param name="parameters">The tensors this group updates (F32 leaves, each once).</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="weightDecay">Decoupled weight decay: each step multiplies the parameter by 1 − lr·weightDecay.</param>
    /// <param name="beta1">Decay of the first moment, in [0, 1).</param>
    /// <param name="beta2">Decay of the second moment, in [0, 1).</param>
    /// <param name="epsilon">Added to the denominator, ≥ 0.</param>
    /// <param name="name">Group name for messages and saved state.</param>
    public AdamWGroup(IEnumerable<Tensor> parameters, double learningRate = 1e-3, double weightDecay = 0.01,
        double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, string? name = null)
        : base(parameters, learningRate, weightDecay, name)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    /// <summary>β₁, the decay of the first moment (exp_avg).</summary>
    public double Beta1 { get => _beta1; set => _beta1 = CheckUnitInterval(value, nameof(Beta1)); }

    /// <summary>β₂, the decay of the second moment (exp_avg_sq).</summary>
    public double Beta2 { get => _beta2; set => _beta2 = CheckUnitInterval(value, nameof(Beta2)); }

    /// <summary>ε, added to the bias-corrected √v.</summary>
    public double Epsilon { get => _epsilon; set => _epsilon = CheckNonNegative(value, nameof(Epsilon)); }

    /// <inheritdoc/>
    protected internal override void SaveOptions(IDictionary<string, double> options)
    {
        options["beta1"] = Beta1;
        options["beta2"] = Beta2;
        options["eps"] = Epsilon;
    }

    /// <inheritdoc/>
    protected internal override void LoadOptions(IReadOnlyDictionary<string, double> options)
    {
        Beta1 = Option(options, "beta1");
        Beta2 = Option(options, "beta2");
        Epsilon = Option(options, "eps");
    }
}
