using Peft.Net.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A TorchSharp linear layer with LoRA adapters (PEFT's <c>lora.Linear</c>): <c>y = base(x) + Σ_active scaling ·
/// B(A(dropout(x)))</c>. The base (<see cref="Linear"/> or <see cref="Nf4Linear"/>) is frozen; A [r, in] and B [out, r]
/// are trainable. Adapters with DoRA add a magnitude vector m and compute, as PEFT does,
/// <c>y = (m / sg(‖W + scaling·B·A‖_row)) ⊙ (W·x + scaling·B·A·x) + b</c> with the norm detached.
/// Submodules and parameters carry PEFT's names, so <c>state_dict()</c> keys are PEFT's: <c>base_layer.weight</c>,
/// <c>lora_A.&lt;adapter&gt;.weight</c>, <c>lora_B.&lt;adapter&gt;.weight</c>, <c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>.
/// </summary>
public class LoraLinear : nn.Module<Tensor, Tensor>, ILoraModule
{
    private readonly nn.Module<Tensor, Tensor> _base;
    private readonly AdapterModuleDict<nn.Module<Tensor, Tensor>> _dropout = new();
    private readonly AdapterModuleDict<Linear> _a = new();
    private readonly AdapterModuleDict<Linear> _b = new();
    private readonly AdapterModuleDict<DoraMagnitude> _magnitude = new();
    private readonly AdapterSet _adapters = new();
    private readonly Dictionary<string, Tensor> _doraMergeFactors = new(StringComparer.Ordinal);
    private readonly bool _forceDora;

    /// <summary>Wraps <paramref name="baseLayer"/> (a <see cref="Linear"/> or <see cref="Nf4Linear"/>) and freezes it.</summary>
    /// <exception cref="ArgumentException">The base is not a linear layer.</exception>
    public LoraLinear(nn.Module<Tensor, Tensor> baseLayer) : this(baseLayer, forceDora: false)
    {
    }

    private protected LoraLinear(nn.Module<Tensor, Tensor> baseLayer, bool forceDora) : base(nameof(LoraLinear))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        if (!LinearBase.IsLinear(baseLayer))
            throw new ArgumentException($"LoraLinear wraps a Linear or an Nf4Linear; {baseLayer.GetType().Name} is neither.", nameof(baseLayer));
        _base = baseLayer;
        _forceDora = forceDora;
        (InFeatures, OutFeatures) = LinearBase.Size(baseLayer);
        register_module("base_layer", _base);
        register_module("lora_dropout", _dropout);
        register_module("lora_A", _a);
        register_module("lora_B", _b);
        register_module("lora_magnitude_vector", _magnitude);
        foreach (var p in _base.parameters()) p.requires_grad = false;
        train(_base.training);
    }

    /// <summary>in_features.</summary>
    public long InFeatures { get; }

    /// <summary>out_features.</summary>
    public long OutFeatures { get; }

    /// <inheritdoc/>
    public nn.Module BaseLayer => _base;

    /// <inheritdoc/>
    public IReadOnlyList<string> AdapterNames => _adapters.Names;

    /// <inheritdoc/>
    public IReadOnlyList<string> ActiveAdapters => _adapters.Active;

    /// <inheritdoc/>
    public IReadOnlyList<string> MergedAdapters => _adapters.Merged;

    /// <inheritdoc/>
    public bool AdaptersDisabled { get; set; }

    /// <summary>A [r, in] of an adapter.</summary>
    public Parameter LoraA(string adapterName) => _a[Require(adapterName)].weight!;

    /// <summary>B [out, r] of an adapter.</summary>
    public Parameter LoraB(string adapterName) => _b[Require(adapterName)].weight!;

    /// <summary>DoRA's magnitude m [out] of an adapter, or null for a plain LoRA adapter.</summary>
    public Parameter? Magnitude(string adapterName) => _magnitude.TryGetValue(Require(adapterName), out var m) ? m.weight : null;

    /// <summary>The adapter's scaling (alpha/r, or alpha/√r with rsLoRA).</summary>
    public double Scaling(string adapterName) => _adapters[adapterName].Scaling;

    /// <inheritdoc/>
    public LoraAdapterOptions GetOptions(string adapterName) => _adapters[adapterName];

    /// <inheritdoc/>
    public void AddAdapter(string adapterName, LoraAdapterOptions options, Generator? generator = null) =>
        AddAdapter(adapterName, options, generator, rewriteBase: true);

    /// <summary>
    /// <see cref="AddAdapter(string, LoraAdapterOptions, Generator?)"/>; with <paramref name="rewriteBase"/> false a
    /// PiSSA adapter gets zero A and B and the base is left alone (loading a "pissa" folder: the file's A and B are
    /// copied in, then <see cref="PissaBaseRewrite"/> rewrites the base, so a folder that does not fit changes nothing).
    /// </summary>
    internal void AddAdapter(string adapterName, LoraAdapterOptions options, Generator? generator, bool rewriteBase)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_forceDora) options = options with { UseDora = true };
        (float[] A, float[] B)? pissa = null;
        if (options.Init == LoraInit.PiSSA)
        {
            if (_base is not Linear floatBase)
                throw new NotSupportedException(
                    $"PiSSA adapter '{adapterName}': PiSSA needs a float base weight (as in PEFT), and this base is a {_base.GetType().Name}; initialise PiSSA on the float model, then quantize the residual.");
            options.Validate(adapterName);
            if (!rewriteBase && options.PissaNiter is not null)
                throw new ArgumentException($"PiSSA adapter '{adapterName}': a deferred base rewrite needs the exact \"pissa\" (a randomized SVD depends on the generator's state now).");
            if (rewriteBase) pissa = PissaInitialization.Factors(floatBase.weight!, options, generator, adapterName);   // before anything changes
        }
        bool first = _adapters.Add(adapterName, options);
        var weight = _base is Linear l ? l.weight! : null;
        var dtype = weight?.dtype ?? ScalarType.Float32;
        var device = weight?.device ?? (_base as Nf4Linear)?.Device ?? CPU;
        using (torch.no_grad())
        {
            var a = nn.Linear(InFeatures, options.Rank, hasBias: false, device: device, dtype: dtype);
            var b = nn.Linear(options.Rank, OutFeatures, hasBias: false, device: device, dtype: dtype);
            if (pissa is var (pissaA, pissaB)) PissaInitialization.Write(weight!, a.weight!, b.weight!, pissaA, pissaB, options.Scaling);
            else if (options.Init == LoraInit.PiSSA)
            {
                a.weight!.zero_();   // deferred PiSSA: the loaded file's A and B take their place
                b.weight!.zero_();
            }
            else LoraInitialization.Apply(a.weight!, b.weight!, options, InFeatures, generator);
            _dropout.Add(adapterName, options.Dropout > 0 ? nn.Dropout(options.Dropout) : nn.Identity());
            _a.Add(adapterName, a);
            _b.Add(adapterName, b);
            if (options.UseDora)
                _magnitude.Add(adapterName, new DoraMagnitude(WeightNorm(adapterName)));
        }
        SetTrainable(adapterName, first);
        _dropout[adapterName].train(training);
    }

    /// <inheritdoc/>
    public void SetActiveAdapters(params string[] adapterNames)
    {
        _adapters.SetActive(adapterNames);
        foreach (var name in _adapters.Names) SetTrainable(name, _adapters.Active.Contains(name));
    }

    /// <inheritdoc/>
    public void DeleteAdapter(string adapterName)
    {
        _adapters.Remove(adapterName);
        _dropout.Remove(adapterName);
        _a.Remove(adapterName);
        _b.Remove(adapterName);
        _magnitude.Remove(adapterName);
        foreach (var name in _adapters.Active) SetTrainable(name, true);
    }

    // x: (…, in) → (…, out)
    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        if (AdaptersDisabled && _adapters.Merged.Count > 0) Unmerge();
        var result = _base.call(x);
        if (AdaptersDisabled || _adapters.Merged.Count > 0) return result;
        foreach (var name in _adapters.Active)
        {
            var options = _adapters[name];
            var dropout = _dropout[name];
            if (!options.UseDora)
            {
                result = result + _b[name].call(_a[name].call(dropout.call(x))) * options.Scaling;
                continue;
            }
            bool reuseBase = dropout is Identity || !training;
            var input = reuseBase ? x : dropout.call(x);
            result = result + DoraDelta(name, input, reuseBase ? result : null, options.Scaling);
        }
        return result;
    }

    /// <summary>PEFT's DoRA term: <c>(m/‖W + s·B·A‖ − 1) ⊙ W·x + (m/‖…‖) ⊙ s·B·A·x</c>, the norm detached.</summary>
    private Tensor DoraDelta(string name, Tensor x, Tensor? baseResult, double scaling)
    {
        Tensor norm = WeightNorm(name);
        var scale = (_magnitude[name].weight / norm).view(1, -1);
        var lora = _b[name].call(_a[name].call(x));
        Tensor basePart;
        if (baseResult is not null)
            basePart = LinearBase.Bias(_base) is { } bias ? baseResult - bias : baseResult;
        else
        {
            using var w = LinearBase.DenseWeight(_base);
            basePart = nn.functional.linear(x, w);
        }
        return (scale - 1) * basePart + scale * lora * scaling;
    }

    /// <summary>‖W + scaling·B·A‖ per output row, without gradient (PEFT detaches it).</summary>
    private Tensor WeightNorm(string name)
    {
        using var _ = torch.no_grad();
        using var w = LinearBase.DenseWeight(_base);
        using var delta = _b[name].weight!.matmul(_a[name].weight!);
        using var adapted = w + delta * _adapters[name].Scaling;
        return adapted.norm(1, keepdim: false).detach();
    }

    /// <summary>The adapter's weight change <c>scaling · B·A</c> [out, in] (a new tensor, no gradient).</summary>
    public Tensor GetDeltaWeight(string adapterName)
    {
        using var _ = torch.no_grad();
        return _b[Require(adapterName)].weight!.matmul(_a[adapterName].weight!) * _adapters[adapterName].Scaling;
    }

    /// <inheritdoc/>
    public void Merge(IReadOnlyList<string>? adapterNames = null)
    {
        using var _ = torch.no_grad();
        foreach (var name in adapterNames ?? _adapters.Active.ToList())
        {
            if (!_adapters.Contains(name) || _adapters.Merged.Contains(name)) continue;
            using var w = LinearBase.DenseWeight(_base).clone();
            using var delta = GetDeltaWeight(name);
            if (_adapters[name].UseDora)
            {
                // PEFT: W' = (m / ‖W + ΔW‖) ⊙ (W + ΔW), row-wise
                using var adapted = w + delta;
                var factor = (_magnitude[name].weight / adapted.norm(1)).detach();
                using var merged = adapted * factor.view(-1, 1);
                LinearBase.SetDenseWeight(_base, merged);
                _doraMergeFactors[name] = factor;
            }
            else
            {
                using var merged = w + delta;
                LinearBase.SetDenseWeight(_base, merged);
            }
            _adapters.Merged.Add(name);
        }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        using var _ = torch.no_grad();
        for (int i = _adapters.Merged.Count - 1; i >= 0; i--)
        {
            string name = _adapters.Merged[i];
            using var w = LinearBase.DenseWeight(_base).clone();
            using var delta = GetDeltaWeight(name);
            if (_doraMergeFactors.Remove(name, out var factor))
            {
                using var restored = w / factor.view(-1, 1) - delta;
                LinearBase.SetDenseWeight(_base, restored);
                factor.Dispose();
            }
            else
            {
                using var restored = w - delta;
                LinearBase.SetDenseWeight(_base, restored);
            }
        }
        _adapters.Merged.Clear();
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    private string Require(string adapterName) =>
        _adapters.Contains(adapterName) ? adapterName : throw new ArgumentException($"This layer has no adapter named '{adapterName}'.", nameof(adapterName));

    private void SetTrainable(string name, bool trainable)
    {
        _a[name].weight!.requires_grad = trainable;
        _b[name].weight!.requires_grad = trainable;
        if (_magnitude.TryGetValue(name, out var m)) m.weight.requires_grad = trainable;
    }
}
