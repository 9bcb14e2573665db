using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;
using Peft.Net.Neftune;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Peft.Net.Lora;

/// <summary>
/// An embedding with LoRA adapters (PEFT's <c>lora.Embedding</c>): <c>y = E[ids] + scaling · Aᵀ[ids]·Bᵀ</c> with bare
/// parameters <c>lora_embedding_A.&lt;adapter&gt;</c> [r, V] (initialised to 0) and <c>lora_embedding_B.&lt;adapter&gt;</c>
/// [D, r] (initialised from N(0, 1)), the reverse of the linear layout. The base embedding is frozen. PEFT applies
/// no dropout on embedding adapters, and neither does this layer. DoRA adapters add a magnitude m [D]
/// (<c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>) normalising each column of E + scaling·(B·A)ᵀ:
/// <c>y = s⊙E[ids] + s⊙scaling·Aᵀ[ids]·Bᵀ</c>, <c>s = m / sg(‖E + scaling·(B·A)ᵀ‖_column)</c>.
/// </summary>
public sealed class LoraEmbedding : Module, ILoraLayer
{
    private const string BaseName = "base_layer";
    private const string LoraAName = "lora_embedding_A";
    private const string LoraBName = "lora_embedding_B";
    private const string MagnitudeName = "lora_magnitude_vector";

    private readonly AdapterBook _book = new();
    private readonly Dictionary<string, double[]> _doraMergeNorms = [];   // column norms of E + ΔE at merge time
    private float? _neftuneNoiseAlpha;

    /// <summary>Wraps <paramref name="baseLayer"/> and freezes its weight.</summary>
    public LoraEmbedding(Embedding baseLayer)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        RegisterModule(BaseName, baseLayer);
        RegisterModule(LoraAName, new AdapterParameterDict());
        RegisterModule(LoraBName, new AdapterParameterDict());
        RegisterModule(MagnitudeName, new AdapterModuleDict());
        baseLayer.RequiresGrad(false);
        Train(baseLayer.IsTraining);
    }

    /// <summary>The wrapped embedding.</summary>
    public Embedding Base => Child<Embedding>(BaseName);

    /// <inheritdoc/>
    public Module BaseLayer => Base;

    /// <summary>V: number of rows of the table.</summary>
    public int NumEmbeddings => Base.NumEmbeddings;

    /// <summary>D: size of each row.</summary>
    public int EmbeddingDim => Base.EmbeddingDim;

    /// <inheritdoc/>
    public IReadOnlyList<string> AdapterNames => _book.Names;

    /// <inheritdoc/>
    public IReadOnlyList<string> ActiveAdapters => _book.Active;

    /// <inheritdoc/>
    public IReadOnlyList<string> MergedAdapters => _book.Merged;

    /// <inheritdoc/>
    public bool AdaptersDisabled { get; set; }

    /// <summary>
    /// NEFTune on this embedding's output, as Hugging Face's hook on a PEFT model's input embedding does: when set, the
    /// training-mode output (base plus adapters) gets <see cref="NeftuneNoise"/> with this α. Null (the default) is off.
    /// Use it when the input embedding is itself a LoRA target; otherwise wrap the plain embedding in a
    /// <see cref="NeftuneEmbedding"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    public float? NeftuneNoiseAlpha
    {
        get => _neftuneNoiseAlpha;
        set => _neftuneNoiseAlpha = value is null || (value >= 0 && float.IsFinite(value.Value))
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The NEFTune noise alpha must be finite and ≥ 0.");
    }

    /// <summary>The generator of the NEFTune noise (seed 0 unless replaced).</summary>
    public TensorRandom NeftuneRandom { get; set; } = new(0);

    /// <summary>True while any adapter is merged into the table.</summary>
    public bool IsMerged => _book.Merged.Count > 0;

    private AdapterParameterDict LoraA => Child<AdapterParameterDict>(LoraAName);

    private AdapterParameterDict LoraB => Child<AdapterParameterDict>(LoraBName);

    private AdapterModuleDict Magnitudes => Child<AdapterModuleDict>(MagnitudeName);

    /// <summary>The adapter's A [r, V] (the parameter <c>lora_embedding_A.&lt;adapter&gt;</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraA(string adapterName) => LoraA.Get(_book.Check(adapterName));

    /// <summary>The adapter's B [D, r] (the parameter <c>lora_embedding_B.&lt;adapter&gt;</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraB(string adapterName) => LoraB.Get(_book.Check(adapterName));

    /// <summary>The DoRA magnitude m [D] of the adapter, or null when it does not use DoRA.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor? GetMagnitude(string adapterName) =>
        _book[adapterName].UseDora ? Magnitudes.Get<DoraMagnitudeVector>(adapterName).Weight : null;

    /// <inheritdoc/>
    public LoraAdapterOptions GetOptions(string adapterName) => _book[adapterName];

    /// <inheritdoc/>
    public float GetScaling(string adapterName) => _book[adapterName].Scaling;

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">PiSSA was requested; it applies to linear layers only (as in PEFT).</exception>
    public void AddAdapter(string adapterName, LoraAdapterOptions options, TensorRandom random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        AdapterBook.CheckNewName(adapterName, _book);
        options.Validate(adapterName);
        if (options.Init == LoraInit.PiSSA)
            throw new NotSupportedException($"Embedding adapter '{adapterName}': PiSSA initialisation applies to linear layers only (as in PEFT).");
        // PEFT: A = 0, B ~ N(0, 1) for every init that resets the weights.
        LoraA.Add(adapterName, Tensor.Zeros(options.Rank, NumEmbeddings));
        LoraB.Add(adapterName, Tensor.Normal([EmbeddingDim, options.Rank], 0f, 1f, random));
        if (options.UseDora)
        {
            using var _ = Tensor.NoGrad();
            var magnitude = DoraWeightNorm.ComputeForEmbedding(Base.Weight, LoraA.Get(adapterName), LoraB.Get(adapterName), options.Scaling);
            Magnitudes.Add(adapterName, new DoraMagnitudeVector(magnitude));
        }
        _book.Add(adapterName, options);
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
        ReplaceSubmodule(LoraAName, LoraA.Without(adapterName));
        ReplaceSubmodule(LoraBName, LoraB.Without(adapterName));
        ReplaceSubmodule(MagnitudeName, Magnitudes.Without(adapterName));
        UpdateTrainable();
    }

    // ids: (S...) → (S..., D)
    /// <summary>
    /// The rows for <paramref name="ids"/> laid out as <paramref name="idsShape"/> plus every active adapter's update
    /// (and NEFTune noise in training mode when <see cref="NeftuneNoiseAlpha"/> is set).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape)
    {
        var output = ForwardWithoutNoise(ids, idsShape);
        return IsTraining && NeftuneNoiseAlpha is { } alpha ? NeftuneNoise.Add(output, alpha, NeftuneRandom) : output;
    }

    private Tensor ForwardWithoutNoise(ReadOnlySpan<int> ids, int[] idsShape)
    {
        if (AdaptersDisabled)
        {
            if (IsMerged) Unmerge();
            return Base.Forward(ids, idsShape);
        }
        var result = Base.Forward(ids, idsShape);
        if (IsMerged || _book.Active.Count == 0) return result;
        var idArray = ids.ToArray();
        var y = result.Reshape(-1, EmbeddingDim);
        foreach (var name in _book.Active)
        {
            var options = _book[name];
            var a = LoraA.Get(name);
            var b = LoraB.Get(name);
            var down = LoraOps.GatherColumns(a, idArray);   // Aᵀ[ids]: (M, R)
            if (!options.UseDora)
            {
                y = LoraOps.AddLowRank(y, down, b, options.Scaling);
                continue;
            }
            Tensor norm;
            using (Tensor.NoGrad())
                norm = DoraWeightNorm.ComputeForEmbedding(Base.Weight, a, b, options.Scaling);
            // PEFT: y = s⊙result + s⊙scaling·Aᵀ[ids]·Bᵀ, i.e. the composition with the running result as the base term
            y = LoraOps.DoraCompose(y, null, null, down, b, Magnitudes.Get<DoraMagnitudeVector>(name).Weight, norm, options.Scaling);
        }
        return y.Reshape(result.ShapeArray());
    }

    /// <summary>The rows for an I32 or I64 tensor of ids plus every active adapter's update: [ids.Shape..., D].</summary>
    /// <exception cref="ArgumentException">The ids tensor is not I32 or I64.</exception>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.DType switch
        {
            DType.I32 => Forward(input.AsSpan<int>(), input.ShapeArray()),
            DType.I64 => Forward(NarrowIds(input), input.ShapeArray()),
            _ => throw new ArgumentException($"LoraEmbedding: ids must be an I32 or I64 tensor; {input.Describe()} is {input.DType}.", nameof(input)),
        };
    }

    /// <inheritdoc/>
    /// <remarks>For an embedding the delta is <c>(B·A)ᵀ · scaling</c>, shaped like the table [V, D].</remarks>
    public Tensor GetDeltaWeight(string adapterName)
    {
        var a = GetLoraA(adapterName);
        var b = GetLoraB(adapterName);
        int v = NumEmbeddings, d = EmbeddingDim, r = a.Dim(0);
        var delta = Tensor.Zeros(v, d);
        // ΔE[V,D] = Aᵀ[V,R] · Bᵀ[R,D]
        Gemm.Multiply(a.AsSpan(), true, b.AsSpan(), true, delta.AsSpan(), v, d, r, accumulate: false);
        TensorPrimitives.Multiply(delta.AsSpan(), _book[adapterName].Scaling, delta.AsSpan());
        return delta;
    }

    /// <inheritdoc/>
    public void Merge(IReadOnlyList<string>? adapterNames = null)
    {
        var names = _book.ToMerge(adapterNames);
        if (names.Count == 0) return;
        var table = Base.Weight.To(DType.F32).Clone().Detach();
        var t = table.AsSpan();
        int v = NumEmbeddings, d = EmbeddingDim;
        foreach (var name in names)
        {
            TensorPrimitives.Add(t, GetDeltaWeight(name).AsSpan(), t);
            if (_book[name].UseDora)
            {
                // E' = (E + ΔE) ⊙ f with f = m / ‖E + ΔE‖_column as a row vector; the norms are kept for unmerge
                var norms = DoraWeightNorm.ColumnNorms(t, v, d);
                var factor = ColumnFactor(Magnitudes.Get<DoraMagnitudeVector>(name).Weight.AsSpan(), norms, invert: false);
                for (int i = 0; i < v; i++) TensorPrimitives.Multiply(t.Slice(i * d, d), factor, t.Slice(i * d, d));
                _doraMergeNorms[name] = norms;
            }
            _book.Merged.Add(name);
        }
        WeightStorage.Write(Base.Weight, table);
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        var merged = _book.Merged;
        if (merged.Count == 0) return;
        var table = Base.Weight.To(DType.F32).Clone().Detach();
        var t = table.AsSpan();
        int v = NumEmbeddings, d = EmbeddingDim;
        for (int m = merged.Count - 1; m >= 0; m--)
        {
            var name = merged[m];
            if (_book[name].UseDora)
            {
                // E = E' / f − ΔE with the norms cached at merge time
                var factor = ColumnFactor(Magnitudes.Get<DoraMagnitudeVector>(name).Weight.AsSpan(), _doraMergeNorms[name], invert: true);
                for (int i = 0; i < v; i++) TensorPrimitives.Multiply(t.Slice(i * d, d), factor, t.Slice(i * d, d));
                _doraMergeNorms.Remove(name);
            }
            TensorPrimitives.Subtract(t, GetDeltaWeight(name).AsSpan(), t);
        }
        merged.Clear();
        WeightStorage.Write(Base.Weight, table);
    }

    // magnitude: (D), norms: (D) → (D): m / n, or n / m
    private static float[] ColumnFactor(ReadOnlySpan<float> magnitude, double[] norms, bool invert)
    {
        var factor = new float[norms.Length];
        for (int j = 0; j < factor.Length; j++) factor[j] = (float)(invert ? norms[j] / magnitude[j] : magnitude[j] / norms[j]);
        return factor;
    }

    private static int[] NarrowIds(Tensor input)
    {
        var wide = input.AsSpan<long>();
        var ids = new int[wide.Length];
        for (int i = 0; i < ids.Length; i++)
            ids[i] = wide[i] is >= int.MinValue and <= int.MaxValue
                ? (int)wide[i]
                : throw new ArgumentOutOfRangeException(nameof(input), $"LoraEmbedding: id {wide[i]} at position {i} of {input.Describe()} does not fit an int.");
        return ids;
    }

    private void UpdateTrainable()
    {
        foreach (var name in _book.Names)
        {
            bool trainable = _book.Active.Contains(name);
            LoraA.Get(name).RequiresGrad = trainable;
            LoraB.Get(name).RequiresGrad = trainable;
            if (_book[name].UseDora) Magnitudes.Get<DoraMagnitudeVector>(name).Weight.RequiresGrad = trainable;
        }
    }
}
