using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Peft.Net.Lora;

/// <summary>
/// An embedding with LoRA adapters (PEFT's <c>lora.Embedding</c>): <c>y = E[ids] + scaling · Aᵀ[ids]·Bᵀ</c> with bare
/// parameters <c>lora_embedding_A.&lt;adapter&gt;</c> [r, V] (initialised to 0) and <c>lora_embedding_B.&lt;adapter&gt;</c>
/// [D, r] (initialised from N(0, 1)), the reverse of the linear layout. The base embedding is frozen. PEFT applies
/// no dropout on embedding adapters, and neither does this layer.
/// </summary>
public sealed class LoraEmbedding : Module, ILoraLayer
{
    private const string BaseName = "base_layer";
    private const string LoraAName = "lora_embedding_A";
    private const string LoraBName = "lora_embedding_B";

    private readonly AdapterBook _book = new();

    /// <summary>Wraps <paramref name="baseLayer"/> and freezes its weight.</summary>
    public LoraEmbedding(Embedding baseLayer)
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        RegisterModule(BaseName, baseLayer);
        RegisterModule(LoraAName, new AdapterParameterDict());
        RegisterModule(LoraBName, new AdapterParameterDict());
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

    /// <summary>True while any adapter is merged into the table.</summary>
    public bool IsMerged => _book.Merged.Count > 0;

    private AdapterParameterDict LoraA => Child<AdapterParameterDict>(LoraAName);

    private AdapterParameterDict LoraB => Child<AdapterParameterDict>(LoraBName);

    /// <summary>The adapter's A [r, V] (the parameter <c>lora_embedding_A.&lt;adapter&gt;</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraA(string adapterName) => LoraA.Get(_book.Check(adapterName));

    /// <summary>The adapter's B [D, r] (the parameter <c>lora_embedding_B.&lt;adapter&gt;</c>).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    public Tensor GetLoraB(string adapterName) => LoraB.Get(_book.Check(adapterName));

    /// <inheritdoc/>
    public LoraAdapterOptions GetOptions(string adapterName) => _book[adapterName];

    /// <inheritdoc/>
    public float GetScaling(string adapterName) => _book[adapterName].Scaling;

    /// <inheritdoc/>
    /// <exception cref="NotSupportedException">PiSSA or DoRA was requested; embedding adapters support neither here.</exception>
    public void AddAdapter(string adapterName, LoraAdapterOptions options, TensorRandom random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        AdapterBook.CheckNewName(adapterName, _book);
        options.Validate(adapterName);
        if (options.Init == LoraInit.PiSSA)
            throw new NotSupportedException($"Embedding adapter '{adapterName}': PiSSA initialisation applies to linear layers only (as in PEFT).");
        if (options.UseDora)
            throw new NotSupportedException($"Embedding adapter '{adapterName}': DoRA on embeddings is not supported; target linear layers.");
        // PEFT: A = 0, B ~ N(0, 1) for every init that resets the weights.
        LoraA.Add(adapterName, Tensor.Zeros(options.Rank, NumEmbeddings));
        LoraB.Add(adapterName, Tensor.Normal([EmbeddingDim, options.Rank], 0f, 1f, random));
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
        UpdateTrainable();
    }

    // ids: (S...) → (S..., D)
    /// <summary>The rows for <paramref name="ids"/> laid out as <paramref name="idsShape"/> plus every active adapter's update.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, V).</exception>
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape)
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
            var down = LoraOps.GatherColumns(LoraA.Get(name), idArray);   // Aᵀ[ids]: (M, R)
            y = LoraOps.AddLowRank(y, down, LoraB.Get(name), _book[name].Scaling);
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
        foreach (var name in names)
        {
            TensorPrimitives.Add(table.AsSpan(), GetDeltaWeight(name).AsSpan(), table.AsSpan());
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
        for (int i = merged.Count - 1; i >= 0; i--)
            TensorPrimitives.Subtract(table.AsSpan(), GetDeltaWeight(merged[i]).AsSpan(), table.AsSpan());
        merged.Clear();
        WeightStorage.Write(Base.Weight, table);
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
        }
    }
}
