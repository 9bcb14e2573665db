namespace Peft.Net.Core.Optim;

/// <summary>
/// A set of parameters that share hyper-parameters, as in PyTorch's <c>optimizer.param_groups</c>.
/// The learning rate is settable so schedules (<see cref="LrScheduler"/>) and methods such as LoRA+ can drive it.
/// Hyper-parameters are doubles, like PyTorch's Python floats; the update kernels round them to float32 the way
/// PyTorch does.
/// </summary>
public abstract class ParamGroup
{
    private double _learningRate;
    private double _weightDecay;
    private double? _initialLearningRate;

    /// <summary>Creates a group.</summary>
    /// <param name="parameters">The tensors this group updates, each once (F32 leaves).</param>
    /// <param name="learningRate">Learning rate (≥ 0).</param>
    /// <param name="weightDecay">Weight decay (≥ 0); each optimizer documents how it applies it.</param>
    /// <param name="name">A name for messages and saved state; the optimizer names an unnamed group "group{index}".</param>
    /// <exception cref="ArgumentException">A parameter is null, not F32, not a leaf, or listed twice.</exception>
    protected ParamGroup(IEnumerable<Tensor> parameters, double learningRate, double weightDecay, string? name)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = parameters.ToList();
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < list.Count; i++)
        {
            var p = list[i] ?? throw new ArgumentException($"Parameter {i} of group '{name}' is null.", nameof(parameters));
            if (p.DType != DType.F32)
                throw new ArgumentException($"Parameter {i} of group '{name}' ({p.Describe()}) is {p.DType}; only F32 parameters can be optimised.", nameof(parameters));
            if (!p.IsLeaf)
                throw new ArgumentException($"Parameter {i} of group '{name}' ({p.Describe()}) is not a leaf tensor; optimise the leaf it was computed from.", nameof(parameters));
            if (!seen.Add(p))
                throw new ArgumentException($"Parameter {i} of group '{name}' ({p.Describe()}) is listed twice.", nameof(parameters));
        }
        Parameters = list;
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        Name = name ?? "";
    }

    /// <summary>The group's name (the optimizer sets "group{index}" when none was given).</summary>
    public string Name { get; internal set; }

    /// <summary>The parameters, in the order their state is saved.</summary>
    public IReadOnlyList<Tensor> Parameters { get; }

    /// <summary>The learning rate used by the next <see cref="Optimizer.Step"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or not finite.</exception>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = CheckNonNegative(value, nameof(LearningRate));
    }

    /// <summary>The weight decay coefficient.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or not finite.</exception>
    public double WeightDecay
    {
        get => _weightDecay;
        set => _weightDecay = CheckNonNegative(value, nameof(WeightDecay));
    }

    /// <summary>
    /// The base learning rate a schedule scales (PyTorch's <c>initial_lr</c>): null until an <see cref="LrScheduler"/>
    /// attaches, then kept (and saved with the optimizer state) so a resumed run schedules from the same base.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative or not finite.</exception>
    public double? InitialLearningRate
    {
        get => _initialLearningRate;
        set => _initialLearningRate = value is null ? null : CheckNonNegative(value.Value, nameof(InitialLearningRate));
    }

    /// <summary>Writes the optimizer-specific hyper-parameters (not lr, weight decay or initial lr) under stable keys.</summary>
    protected internal abstract void SaveOptions(IDictionary<string, double> options);

    /// <summary>Restores what <see cref="SaveOptions"/> wrote; throws <see cref="KeyNotFoundException"/> naming a missing key.</summary>
    protected internal abstract void LoadOptions(IReadOnlyDictionary<string, double> options);

    /// <summary>Validates a hyper-parameter that must be finite and ≥ 0.</summary>
    protected static double CheckNonNegative(double value, string what)
    {
        if (!double.IsFinite(value) || value < 0)
            throw new ArgumentOutOfRangeException(what, value, $"{what} must be finite and ≥ 0.");
        return value;
    }

    /// <summary>Validates a hyper-parameter that must lie in [0, 1).</summary>
    protected static double CheckUnitInterval(double value, string what)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(what, value, $"{what} must be in [0, 1).");
        return value;
    }

    /// <summary>The value of <paramref name="key"/> in saved options, or a clear error.</summary>
    protected static double Option(IReadOnlyDictionary<string, double> options, string key) =>
        options.TryGetValue(key, out var value)
            ? value
            : throw new KeyNotFoundException($"Saved optimizer state has no hyper-parameter '{key}'.");
}
