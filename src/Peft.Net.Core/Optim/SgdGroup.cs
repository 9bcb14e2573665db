namespace Peft.Net.Core.Optim;

/// <summary>A parameter group of <see cref="Sgd"/>: learning rate, L2 weight decay, momentum, dampening, Nesterov.</summary>
public sealed class SgdGroup : ParamGroup
{
    private double _momentum;
    private double _dampening;

    /// <summary>Creates a group with PyTorch's <c>torch.optim.SGD</c> semantics.</summary>
    /// <param name="parameters">The tensors this group updates (F32 leaves, each once).</param>
    /// <param name="learningRate">Learning rate.</param>
    /// <param name="momentum">Momentum factor (0 disables the buffer).</param>
    /// <param name="dampening">Dampening of the gradient added to the momentum buffer.</param>
    /// <param name="weightDecay">L2 penalty: weightDecay·p is added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening 0).</param>
    /// <param name="name">Group name for messages and saved state.</param>
    public SgdGroup(IEnumerable<Tensor> parameters, double learningRate, double momentum = 0, double dampening = 0,
        double weightDecay = 0, bool nesterov = false, string? name = null)
        : base(parameters, learningRate, weightDecay, name)
    {
        Momentum = momentum;
        Dampening = dampening;
        Nesterov = nesterov;
        CheckNesterov();
    }

    /// <summary>Momentum factor.</summary>
    public double Momentum { get => _momentum; set => _momentum = CheckNonNegative(value, nameof(Momentum)); }

    /// <summary>Dampening: the momentum buffer adds (1 − dampening)·gradient.</summary>
    public double Dampening { get => _dampening; set => _dampening = CheckNonNegative(value, nameof(Dampening)); }

    /// <summary>Whether the step uses Nesterov momentum.</summary>
    public bool Nesterov { get; set; }

    /// <summary>Throws when Nesterov momentum is requested without momentum or with dampening (as PyTorch does).</summary>
    internal void CheckNesterov()
    {
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new InvalidOperationException(
                $"SGD group '{Name}': Nesterov momentum requires momentum > 0 and dampening 0 (momentum {Momentum}, dampening {Dampening}).");
    }

    /// <inheritdoc/>
    protected internal override void SaveOptions(IDictionary<string, double> options)
    {
        options["momentum"] = Momentum;
        options["dampening"] = Dampening;
        options["nesterov"] = Nesterov ? 1 : 0;
    }

    /// <inheritdoc/>
    protected internal override void LoadOptions(IReadOnlyDictionary<string, double> options)
    {
        Momentum = Option(options, "momentum");
        Dampening = Option(options, "dampening");
        Nesterov = Option(options, "nesterov") != 0;
        CheckNesterov();
    }
}
