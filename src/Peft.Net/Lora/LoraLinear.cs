using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Lora;

/// <summary>
/// A linear layer with LoRA adapters (PEFT's <c>lora.Linear</c>):
/// <c>y = base(x) + Σ_active scaling · B(A(dropout(x)))</c>, computed as (x·Aᵀ)·Bᵀ so B·A is never formed. The base
/// layer (<see cref="Linear"/> in F32/F16/BF16, or a 4-bit layer) is frozen; A [r, in] and B [out, r] are trainable.
/// Adapters that use DoRA add a magnitude vector and normalise the adapted weight's rows (PEFT's DoRA variant).
/// Submodule and parameter names follow PEFT: <c>base_layer</c>, <c>lora_dropout.&lt;adapter&gt;</c> (no parameters),
/// <c>lora_A.&lt;adapter&gt;.weight</c>,
/// <c>lora_B.&lt;adapter&gt;.weight</c>, <c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>.
/// </summary>
public partial class LoraLinear : Module, ILoraLayer, ILinearLayer
{
    private const string BaseName = "base_layer";
    private const string LoraAName = "lora_A";
    private const string LoraBName = "lora_B";
    private const string DropoutName = "lora_dropout";
    private const string MagnitudeName = "lora_magnitude_vector";

    private readonly bool _forceDora;
    private readonly AdapterBook _book = new();

    /// <summary>Wraps <paramref name="baseLayer"/> (which must be a <see cref="Module"/>) and freezes its parameters.</summary>
    /// <exception cref="ArgumentException">The base layer is not a <see cref="Module"/>.</exception>
    public LoraLinear(ILinearLayer baseLayer) : this(baseLayer, forceDora: false)
    {
    }

    private protected LoraLinear(ILinearLayer baseLayer, bool forceDora)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        if (baseLayer is not Module module)
            throw new ArgumentException($"The base layer of a LoRA layer must be a Module; {baseLayer.GetType().Name} is not.", nameof(baseLayer));
        _forceDora = forceDora;
        RegisterModule(BaseName, module);
        RegisterModule(DropoutName, new AdapterModuleDict());
        RegisterModule(LoraAName, new AdapterModuleDict());
        RegisterModule(LoraBName, new AdapterModuleDict());
        RegisterModule(MagnitudeName, new AdapterModuleDict());
        module.RequiresGrad(false);
        Train(module.IsTraining);
    }

    /// <summary>The wrapped base layer as a linear layer.</summary>
    public ILinearLayer Base => (ILinearLayer)BaseLayer;

    /// <inheritdoc/>
    public Module BaseLayer => Child<Module>(BaseName);

    /// <inheritdoc/>
    public int InFeatures => Base.InFeatures;

    /// <inheritdoc/>
    public int OutFeatures => Base.OutFeatures;

    /// <inheritdoc/>
    public Tensor? Bias => Base.Bias;

    /// <inheritdoc/>
    public IPackableWeight? PackableWeight => Base.PackableWeight;

    /// <inheritdoc/>
    public IReadOnlyList<string> AdapterNames => _book.Names;

    /// <inheritdoc/>
    public IReadOnlyList<string> ActiveAdapters => _book.Active;

    /// <inheritdoc/>
    public bool AdaptersDisabled { get; set; }

    /// <summary>True while any adapter is merged into the base weight.</summary>
    public bool IsMerged => _book.Merged.Count > 0;

    private AdapterModuleDict Dropouts => Child<AdapterModuleDict>(DropoutName);

    private AdapterModuleDict LoraA => Child<AdapterModuleDict>(LoraAName);

    private AdapterModuleDict LoraB => Child<AdapterModuleDict>(LoraBName);

    private AdapterModuleDict Magnitudes => Child<AdapterModuleDict>(MagnitudeName);

    /// <summary>The adapter's A weight [r, in] (the parameter <c>lora_A.&lt;adapter&gt;.weight</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraA(string adapterName) => LoraA.Get<Linear>(_book.Check(adapterName)).Weight;

    /// <summary>The adapter's B weight [out, r] (the parameter <c>lora_B.&lt;adapter&gt;.weight</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraB(string adapterName) => LoraB.Get<Linear>(_book.Check(adapterName)).Weight;

    /// <summary>The adapter's lora_B bias [out] (<c>lora_B.&lt;adapter&gt;.bias</c>, PEFT's <c>lora_bias</c>), or null.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor? GetLoraBias(string adapterName) => LoraB.Get<Linear>(_book.Check(adapterName)).Bias;

    /// <summary>The DoRA magnitude m [out] of the adapter, or null when it does not use DoRA.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor? GetMagnitude(string adapterName) =>
        _book[adapterName].UseDora ? Magnitudes.Get<DoraMagnitudeVector>(adapterName).Weight : null;

    /// <inheritdoc/>
    public LoraAdapterOptions GetOptions(string adapterName) => _book[adapterName];

    /// <inheritdoc/>
    public float GetScaling(string adapterName) => GetOptions(adapterName).Scaling;

    /// <summary>Test hook: supplies the dropout mask [M, K] for an adapter instead of drawing one.</summary>
    internal Func<string, int[], Tensor>? DropoutMaskOverride { get; set; }

    /// <inheritdoc/>
    public void AddAdapter(string adapterName, LoraAdapterOptions options, TensorRandom random) =>
        AddAdapter(adapterName, options, random, rewriteBase: true);

    /// <summary>
    /// <see cref="AddAdapter(string, LoraAdapterOptions, TensorRandom)"/>; with <paramref name="rewriteBase"/> false a
    /// PiSSA adapter gets zero A and B and the base is left alone (loading a "pissa" folder: the file's A and B are
    /// copied in, then <see cref="PissaBaseRewrite"/> rewrites the base, so a folder that does not fit changes nothing).
    /// </summary>
    internal void AddAdapter(string adapterName, LoraAdapterOptions options, TensorRandom random, bool rewriteBase)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        AdapterBook.CheckNewName(adapterName, _book);
        if (_forceDora) options = options with { UseDora = true };
        options.Validate(adapterName);

        var (a, b) = LoraInitializer.Create(Base, options, random, adapterName, rewriteBase);
        Dropouts.Add(adapterName, new Dropout(options.Dropout, random.NextUInt64()));
        LoraA.Add(adapterName, a);
        LoraB.Add(adapterName, b);
        if (options.UseDora)
        {
            using var _ = Tensor.NoGrad();
            var magnitude = DoraWeightNorm.Compute(BaseWeight.Of(Base), a.Weight, b.Weight, options.Scaling);
            Magnitudes.Add(adapterName, new DoraMagnitudeVector(magnitude));
        }
        _book.Add(adapterName, options);
        Train(IsTraining);   // the new dropout module follows the layer's mode
        UpdateTrainable();
    }

    /// <inheritdoc/>
    public void SetActiveAdapters(params string[] adapterNames)
    {
        ArgumentNullException.ThrowIfNull(adapterNames);
        _book.SetActive(adapterNames);
        UpdateTrainable();
    }

    /// <inheritdoc/>
    public void DeleteAdapter(string adapterName)
    {
        _book.Remove(adapterName);
        ReplaceSubmodule(DropoutName, Dropouts.Without(adapterName));
        ReplaceSubmodule(LoraAName, LoraA.Without(adapterName));
        ReplaceSubmodule(LoraBName, LoraB.Without(adapterName));
        ReplaceSubmodule(MagnitudeName, Magnitudes.Without(adapterName));
        UpdateTrainable();
    }

    // x: (..., K) → (..., N)
    /// <summary>
    /// The base output plus every active adapter's update (base only when adapters are disabled or merged). Dropout
    /// on the adapter branch applies in training mode only.
    /// </summary>
    /// <exception cref="ArgumentException">The input does not end in <see cref="InFeatures"/>.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = InFeatures, n = OutFeatures;
        if (input.Rank < 1 || input.Dim(-1) != k)
            throw new ArgumentException($"LoraLinear: input {input.Describe()} does not end in the layer's {k} input features.", nameof(input));
        if (AdaptersDisabled)
        {
            if (IsMerged) Unmerge();
            return Base.Forward(input);
        }
        if (!IsMerged && _book.Active.Count == 1 && input.Count / Math.Max(k, 1) > 4 && FusedBase(_book.Active[0]) is { } fused)
            return ForwardFused(input, fused, _book.Active[0]);
        var result = Base.Forward(input);
        if (IsMerged || _book.Active.Count == 0) return result;

        var x = input.Rank == 2 ? input : input.Reshape(-1, k);
        var y = result.Reshape(-1, n);
        // The plain and 4-bit linear layers return a fresh tensor that their backward does not read, so the first
        // LoRA update may add into it in place; each LoRA update's own result may be overwritten in turn.
        bool resultIsScratch = Base is Linear or Nf4Linear;
        foreach (var name in _book.Active)
        {
            y = AddAdapterOutput(name, x, y, resultIsScratch);
            resultIsScratch = !_book[name].UseDora;
        }
        return y.Reshape(result.ShapeArray());
    }

    /// <summary>
    /// The base weight when the base product and adapter <paramref name="name"/>'s update can run as one GEMM: a
    /// LoRA update without a lora_B bias (DoRA too, unless dropout applies: DoRA's base term is then a product of
    /// its own) over a bias-free plain or 4-bit base layer with a frozen weight. Null otherwise (the callers also
    /// leave a few rows, as in decoding, to the matrix-vector kernel or a registered GEMV backend).
    /// </summary>
    private BaseWeight? FusedBase(string name)
    {
        var options = _book[name];
        if (LoraB.Get<Linear>(name).Bias is not null || options.UseDora && AppliesDropout(options)) return null;
        if (Base is Linear { Bias: null } linear && !linear.Weight.RequiresGrad) return BaseWeight.Of(linear);
        if (Base is Nf4Linear { Bias: null } quantized) return BaseWeight.Of(quantized);
        return null;
    }

    // input: (..., K) → (..., N) = x·Wᵀ + scaling · dropout(x)·Aᵀ·Bᵀ in one GEMM (DoRA: s ⊙ (x·Wᵀ + scaling · x·Aᵀ·Bᵀ))
    private Tensor ForwardFused(Tensor input, BaseWeight weight, string name)
    {
        var options = _book[name];
        var x = input.Rank == 2 ? input : input.Reshape(-1, InFeatures); // a [M, K] input is used as it is
        var b = LoraB.Get<Linear>(name).Weight;
        // Without dropout the op makes u = x·Aᵀ itself, so its backward adds du·A to dx inside the base input-gradient GEMM.
        var down = AppliesDropout(options)
            ? LowRankInput.Given(DownProjection(name, x, out _))
            : LowRankInput.FromA(LoraA.Get<Linear>(name).Weight);
        var shape = input.ShapeArray();
        shape[^1] = OutFeatures;
        if (!options.UseDora) return LoraOps.LinearPlusLowRank(x, weight, down, b, options.Scaling).Reshape(shape);
        var magnitude = Magnitudes.Get<DoraMagnitudeVector>(name).Weight;
        return LoraOps.DoraLinearPlusLowRank(x, weight, down, b, magnitude, DoraNorm(name, weight), options.Scaling).Reshape(shape);
    }

    // x: (M, K) → (M, R) = dropout(x)·Aᵀ, and the branch input dropout(x) (x itself without dropout)
    private Tensor DownProjection(string name, Tensor x, out Tensor branchInput)
    {
        branchInput = AppliesDropout(_book[name]) ? ApplyDropout(name, x) : x;
        return Ops.MatMul(branchInput, LoraA.Get<Linear>(name).Weight, transposeB: true);
    }

    /// <summary>Whether the adapter branch drops out its input now: in training mode, with a dropout above 0.</summary>
    private bool AppliesDropout(LoraAdapterOptions options) => IsTraining && options.Dropout > 0f;

    // → (N): ‖W + scaling·B·A‖ per output row, a constant of the step (no gradient)
    private Tensor DoraNorm(string name, BaseWeight weight)
    {
        using (Tensor.NoGrad())
            return DoraWeightNorm.Compute(weight, LoraA.Get<Linear>(name).Weight, LoraB.Get<Linear>(name).Weight, _book[name].Scaling);
    }

    // x: (M, K), y: (M, N) running result → (M, N)
    private Tensor AddAdapterOutput(string name, Tensor x, Tensor y, bool overwriteY)
    {
        var options = _book[name];
        var b = LoraB.Get<Linear>(name).Weight;
        var down = DownProjection(name, x, out var branchInput);
        bool dropout = AppliesDropout(options);
        if (!options.UseDora)
        {
            var sum = LoraOps.AddLowRank(y, down, b, options.Scaling, overwriteY);
            // lora_bias: lora_B is Linear(r, out, bias=True), so its bias is scaled with the branch: + scaling · b_B
            return LoraB.Get<Linear>(name).Bias is { } loraBias ? Ops.Add(sum, Ops.MulScalar(loraBias, options.Scaling)) : sum;
        }

        var weight = BaseWeight.Of(Base);
        var magnitude = Magnitudes.Get<DoraMagnitudeVector>(name).Weight;
        var norm = DoraNorm(name, weight);
        // PEFT: without dropout (or in eval) the running result is reused as the base term, minus the bias;
        // with dropout the base term is W·dropout(x), an extra bias-free product.
        return dropout
            ? LoraOps.DoraCompose(y, weight.Apply(branchInput), null, down, b, magnitude, norm, options.Scaling)
            : LoraOps.DoraCompose(y, null, Bias, down, b, magnitude, norm, options.Scaling);
    }

    // x: (M, K) → (M, K)
    private Tensor ApplyDropout(string name, Tensor x)
    {
        if (DropoutMaskOverride is null) return Dropouts.Get<Dropout>(name).Forward(x);
        var mask = DropoutMaskOverride(name, x.ShapeArray());
        if (!mask.SameShape(x))
            throw new InvalidOperationException($"The dropout mask override returned {mask.Describe()} for an input {x.Describe()}.");
        return Ops.Mul(x, mask);
    }

    private void UpdateTrainable()
    {
        foreach (var name in _book.Names)
        {
            bool trainable = _book.Active.Contains(name);
            LoraA.Get<Linear>(name).Weight.RequiresGrad = trainable;
            LoraB.Get<Linear>(name).Weight.RequiresGrad = trainable;
            if (LoraB.Get<Linear>(name).Bias is { } loraBias) loraBias.RequiresGrad = trainable;
            if (_book[name].UseDora) Magnitudes.Get<DoraMagnitudeVector>(name).Weight.RequiresGrad = trainable;
        }
    }
}
