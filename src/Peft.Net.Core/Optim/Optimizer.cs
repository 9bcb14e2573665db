namespace Peft.Net.Core.Optim;

/// <summary>
/// Base of the optimizers: parameter groups, per-parameter state (a step count and flat float buffers), zeroing
/// gradients, and saving/loading the state to resume training. A step skips parameters whose
/// <see cref="Tensor.Grad"/> is null: their state and step count stay as they were, as in PyTorch.
/// </summary>
public abstract class Optimizer
{
    private readonly ParamGroup[] _groups;
    private readonly ParameterState?[][] _state;
    private readonly string[] _bufferNames;

    /// <summary>Creates the optimizer over <paramref name="groups"/>.</summary>
    /// <param name="groups">Parameter groups; unnamed groups are named "group{index}".</param>
    /// <param name="bufferNames">Names of the per-parameter state buffers (e.g. "exp_avg", "exp_avg_sq").</param>
    /// <exception cref="ArgumentException">No parameters at all, a parameter in two groups, or two groups with one name.</exception>
    protected Optimizer(IEnumerable<ParamGroup> groups, params string[] bufferNames)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.ToArray();
        _bufferNames = (string[])bufferNames.Clone();
        if (_groups.Sum(g => g.Parameters.Count) == 0)
            throw new ArgumentException($"{GetType().Name} got no parameters to optimise.", nameof(groups));
        var owner = new Dictionary<Tensor, string>(ReferenceEqualityComparer.Instance);
        var names = new HashSet<string>();
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g] ?? throw new ArgumentException($"Parameter group {g} is null.", nameof(groups));
            if (group.Name.Length == 0) group.Name = $"group{g}";
            if (!names.Add(group.Name))
                throw new ArgumentException($"Two parameter groups are named '{group.Name}'.", nameof(groups));
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                var p = group.Parameters[i];
                if (!owner.TryAdd(p, group.Name))
                    throw new ArgumentException(
                        $"Parameter {i} of group '{group.Name}' ({p.Describe()}) is already in group '{owner[p]}'; a parameter may be in one group only.", nameof(groups));
            }
        }
        _state = _groups.Select(g => new ParameterState?[g.Parameters.Count]).ToArray();
    }

    /// <summary>The parameter groups in order.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>Name used in saved state to check that it is loaded into the same kind of optimizer.</summary>
    protected abstract string OptimizerType { get; }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>
    /// Clears the gradients of all parameters. With <paramref name="setToNone"/> (the default) each
    /// <see cref="Tensor.Grad"/> becomes null, which frees the memory and makes the next <see cref="Step"/> skip
    /// parameters that received no gradient; otherwise existing gradient tensors are zero-filled in place
    /// (parameters with a zero gradient still step: weight decay and momentum still move them).
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
            {
                if (setToNone) p.Grad = null;
                else p.Grad?.AsSpan().Clear();
            }
    }

    /// <summary>The state of parameter <paramref name="index"/> of group <paramref name="group"/>, or null before its first step.</summary>
    protected ParameterState? GetState(int group, int index) => _state[group][index];

    /// <summary>The state of a parameter, created with step 0 and zero-filled buffers on first use.</summary>
    protected ParameterState GetOrCreateState(int group, int index)
    {
        ref var state = ref _state[group][index];
        if (state is null)
        {
            int count = _groups[group].Parameters[index].Count;
            var buffers = new float[_bufferNames.Length][];
            for (int b = 0; b < buffers.Length; b++) buffers[b] = new float[count];
            state = new ParameterState(0, buffers);
        }
        return state;
    }

    /// <summary>
    /// The gradient of parameter <paramref name="index"/> of <paramref name="group"/> as a span, or false when it has none.
    /// </summary>
    /// <exception cref="InvalidOperationException">The gradient is not F32 or has another element count.</exception>
    protected static bool TryGetGradient(ParamGroup group, int index, out ReadOnlySpan<float> gradient)
    {
        var parameter = group.Parameters[index];
        var grad = parameter.Grad;
        if (grad is null)
        {
            gradient = default;
            return false;
        }
        if (grad.DType != DType.F32 || grad.Count != parameter.Count)
            throw new InvalidOperationException(
                $"Parameter {index} of group '{group.Name}' ({parameter.Describe()}) has the gradient {grad.Describe()}; it must be F32 with the same element count.");
        gradient = grad.AsSpan();
        return true;
    }

    /// <summary>A deep copy of the optimizer's state: hyper-parameters, learning rates, step counts and buffers.</summary>
    public virtual OptimizerState StateDict()
    {
        var groups = new ParamGroupState[_groups.Length];
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            var hyperparameters = new SortedDictionary<string, double>(StringComparer.Ordinal)
            {
                ["lr"] = group.LearningRate,
                ["weight_decay"] = group.WeightDecay,
            };
            if (group.InitialLearningRate is { } initial) hyperparameters["initial_lr"] = initial;
            group.SaveOptions(hyperparameters);
            groups[g] = new ParamGroupState(group.Name, hyperparameters, _state[g].Select(s => s?.Clone()).ToArray());
        }
        return new OptimizerState(OptimizerType, (string[])_bufferNames.Clone(), groups);
    }

    /// <summary>
    /// Restores a state saved by <see cref="StateDict"/> from an optimizer of the same type built over the same
    /// parameters in the same group order. Hyper-parameters (learning rates included) are restored too. The
    /// state is copied, so later steps do not change <paramref name="state"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Another optimizer type, other buffers, another number of groups or parameters per group, or a buffer whose
    /// length differs from its parameter's; the optimizer is left unchanged.
    /// </exception>
    public virtual void LoadStateDict(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        CheckCompatible(state);
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            var saved = state.Groups[g];
            group.LearningRate = saved.Hyperparameters["lr"];
            group.WeightDecay = saved.Hyperparameters["weight_decay"];
            group.InitialLearningRate = saved.Hyperparameters.TryGetValue("initial_lr", out var initial) ? initial : null;
            group.LoadOptions(saved.Hyperparameters);
            for (int i = 0; i < group.Parameters.Count; i++)
                _state[g][i] = saved.Parameters[i]?.Clone();
        }
    }

    private void CheckCompatible(OptimizerState state)
    {
        if (state.OptimizerType != OptimizerType)
            throw new ArgumentException($"The state was saved by {state.OptimizerType}; it cannot be loaded into {OptimizerType}.", nameof(state));
        if (!state.BufferNames.SequenceEqual(_bufferNames))
            throw new ArgumentException(
                $"The state has the buffers [{string.Join(", ", state.BufferNames)}]; {OptimizerType} keeps [{string.Join(", ", _bufferNames)}].", nameof(state));
        if (state.Groups.Count != _groups.Length)
            throw new ArgumentException($"The state has {state.Groups.Count} parameter groups; this optimizer has {_groups.Length}.", nameof(state));
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            var saved = state.Groups[g];
            if (saved.Parameters.Count != group.Parameters.Count)
                throw new ArgumentException(
                    $"Group {g} ('{saved.Name}') of the state has {saved.Parameters.Count} parameters; group '{group.Name}' has {group.Parameters.Count}.", nameof(state));
            var expectedKeys = new Dictionary<string, double> { ["lr"] = 0, ["weight_decay"] = 0 };
            group.SaveOptions(expectedKeys);
            foreach (var key in expectedKeys.Keys)
                if (!saved.Hyperparameters.ContainsKey(key))
                    throw new ArgumentException($"Group {g} ('{saved.Name}') of the state has no hyper-parameter '{key}'.", nameof(state));
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                var parameterState = saved.Parameters[i];
                if (parameterState is null) continue;
                if (parameterState.Buffers.Count != _bufferNames.Length)
                    throw new ArgumentException(
                        $"Parameter {i} of group '{saved.Name}' has {parameterState.Buffers.Count} state buffers; expected {_bufferNames.Length}.", nameof(state));
                var parameter = group.Parameters[i];
                for (int b = 0; b < _bufferNames.Length; b++)
                    if (parameterState.Buffers[b].Length != parameter.Count)
                        throw new ArgumentException(
                            $"'{_bufferNames[b]}' of parameter {i} in group '{saved.Name}' has {parameterState.Buffers[b].Length} elements; {parameter.Describe()} has {parameter.Count}.", nameof(state));
            }
        }
    }
}
