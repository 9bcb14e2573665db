using Peft.Net.Core.Kernels;
using Peft.Net.Core.Optim;

namespace Peft.Net.Optim;

/// <summary>
/// Base of the AdamW variants whose moments are stored compactly or where the operating system can page them out
/// (<see cref="AdamW8bit"/>, <see cref="PagedAdamW"/>): moments are allocated when the optimizer is built, saved in
/// <see cref="StateDict"/> with the buffers "state1", "state2", "absmax1", "absmax2", and restored exactly.
/// Dispose it (or let it be collected) to release a paged state file.
/// </summary>
public abstract class LowMemoryAdamW : Optimizer, IDisposable
{
    /// <summary>Parameters of at least this many elements have their moments paged (bitsandbytes' rule).</summary>
    public const int PagedMinimumElements = 100_000;

    private readonly AdamWGroup[] _groups;
    private readonly MomentStore _store;

    private protected LowMemoryAdamW(AdamWGroup[] groups, Func<int, bool> eightBit, bool paged, string? pagingDirectory)
        : base(groups, MomentStore.BufferNames)
    {
        _groups = groups;
        _store = new MomentStore(groups, eightBit, paged, PagedMinimumElements, pagingDirectory);
        IsPaged = paged;
    }

    /// <summary>The parameter groups with their AdamW hyper-parameters.</summary>
    public IReadOnlyList<AdamWGroup> Groups => _groups;

    /// <summary>Whether large moments live in a memory-mapped file the operating system may page out.</summary>
    public bool IsPaged { get; }

    /// <summary>Bytes of optimizer state (moments, codes and absmax values), wherever they live.</summary>
    public long StateBytes => _store.Bytes;

    /// <summary>Bytes of state in the paged file (0 when not paged).</summary>
    public long PagedStateBytes => _store.PagedBytes;

    /// <summary>Where the paged file was created (it is unlinked from the folder at once on Linux and macOS), or null.</summary>
    public string? PagedStateFilePath => _store.PagedFilePath;

    /// <inheritdoc/>
    public override void Step()
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            var group = _groups[g];
            for (int i = 0; i < group.Parameters.Count; i++)
            {
                if (!TryGetGradient(group, i, out var gradient)) continue;
                var moments = _store[g, i];
                moments.Step++;
                var parameter = group.Parameters[i].AsSpan();
                if (moments.EightBit)
                {
                    var c = AdamW8bitCoefficients.For(group.LearningRate, group.WeightDecay, group.Beta1, group.Beta2, group.Epsilon, moments.Step);
                    AdamW8bitKernel.Update(parameter, gradient, moments.First.Bytes, moments.Second.Bytes, moments.Absmax1, moments.Absmax2, c);
                }
                else
                {
                    var c = AdamWCoefficients.For(group.LearningRate, group.WeightDecay, group.Beta1, group.Beta2, group.Epsilon, moments.Step);
                    AdamWKernel.Update(parameter, gradient, moments.First.Floats, moments.Second.Floats, c);
                }
            }
        }
    }

    /// <inheritdoc/>
    public override OptimizerState StateDict()
    {
        var saved = base.StateDict(); // hyper-parameters; the base keeps no per-parameter state of its own
        var groups = saved.Groups.Select((group, g) => group with
        {
            Parameters = Enumerable.Range(0, _groups[g].Parameters.Count).Select(i => _store.Save(g, i)).ToArray(),
        }).ToArray();
        return saved with { Groups = groups };
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The state belongs to another optimizer or other parameters; nothing is changed.</exception>
    public override void LoadStateDict(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.OptimizerType != OptimizerType)
            throw new ArgumentException($"The state was saved by {state.OptimizerType}; it cannot be loaded into {OptimizerType}.", nameof(state));
        if (state.Groups.Count != _groups.Length)
            throw new ArgumentException($"The state has {state.Groups.Count} parameter groups; this optimizer has {_groups.Length}.", nameof(state));
        for (int g = 0; g < _groups.Length; g++)
        {
            if (state.Groups[g].Parameters.Count != _groups[g].Parameters.Count)
                throw new ArgumentException($"Group {g} of the state has {state.Groups[g].Parameters.Count} parameters; this optimizer has {_groups[g].Parameters.Count}.", nameof(state));
            for (int i = 0; i < _groups[g].Parameters.Count; i++)
                if (_store.Check(g, i, state.Groups[g].Parameters[i]) is { } problem)
                    throw new ArgumentException($"Parameter {i} of group '{state.Groups[g].Name}' ({_groups[g].Parameters[i].Describe()}) {problem}.", nameof(state));
        }
        // The base checks type, buffer names and hyper-parameters, and restores the latter; strip the per-parameter
        // state it would size-check against the parameter counts.
        base.LoadStateDict(state with
        {
            Groups = state.Groups.Select(group => group with { Parameters = new ParameterState?[group.Parameters.Count] }).ToArray(),
        });
        for (int g = 0; g < _groups.Length; g++)
            for (int i = 0; i < _groups[g].Parameters.Count; i++)
                _store.Load(g, i, state.Groups[g].Parameters[i]);
    }

    /// <summary>Releases the paged state file.</summary>
    public void Dispose()
    {
        _store.Dispose();
        GC.SuppressFinalize(this);
    }
}
