using Peft.Net.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A TorchSharp embedding with LoRA adapters (PEFT's <c>lora.Embedding</c>): <c>y = base(ids) + scaling ·
/// Aᵀ[ids]·Bᵀ</c> with A [r, num_embeddings] (initialised to zero) and B [embedding_dim, r] (standard normal), as
/// PEFT initialises them. Keys: <c>base_layer.weight</c>, <c>lora_embedding_A.&lt;adapter&gt;</c>,
/// <c>lora_embedding_B.&lt;adapter&gt;</c>. The base may be an <see cref="Embedding"/> or a
/// <see cref="NeftuneEmbedding"/>.
/// </summary>
public sealed class LoraEmbedding : nn.Module<Tensor, Tensor>, ILoraModule
{
    private readonly nn.Module<Tensor, Tensor> _base;
    private readonly AdapterModuleDict<nn.Module<Tensor, Tensor>> _dropout = new();
    private readonly AdapterParameterDict _a = new();
    private readonly AdapterParameterDict _b = new();
    private readonly AdapterSet _adapters = new();

    /// <summary>Wraps an <see cref="Embedding"/> or a <see cref="NeftuneEmbedding"/> and freezes it.</summary>
    /// <exception cref="ArgumentException">The base is neither.</exception>
    public LoraEmbedding(nn.Module<Tensor, Tensor> baseLayer) : base(nameof(LoraEmbedding))
    {
        ArgumentNullException.ThrowIfNull(baseLayer);
        var weight = baseLayer switch
        {
            Embedding e => e.weight!,
            NeftuneEmbedding n => n.weight,
            _ => throw new ArgumentException($"LoraEmbedding wraps an Embedding or a NeftuneEmbedding; {baseLayer.GetType().Name} is neither.", nameof(baseLayer)),
        };
        _base = baseLayer;
        NumEmbeddings = weight.shape[0];
        EmbeddingDim = weight.shape[1];
        register_module("base_layer", _base);
        register_module("lora_dropout", _dropout);
        register_module("lora_embedding_A", _a);
        register_module("lora_embedding_B", _b);
        foreach (var p in _base.parameters()) p.requires_grad = false;
        train(_base.training);
    }

    /// <summary>The vocabulary size.</summary>
    public long NumEmbeddings { get; }

    /// <summary>The embedding width.</summary>
    public long EmbeddingDim { get; }

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

    /// <summary>A [r, num_embeddings] of an adapter.</summary>
    public Parameter LoraA(string adapterName) => _a[Require(adapterName)];

    /// <summary>B [embedding_dim, r] of an adapter.</summary>
    public Parameter LoraB(string adapterName) => _b[Require(adapterName)];

    /// <inheritdoc/>
    public LoraAdapterOptions GetOptions(string adapterName) => _adapters[adapterName];

    /// <inheritdoc/>
    public void AddAdapter(string adapterName, LoraAdapterOptions options, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.UseDora)
            throw new NotSupportedException("DoRA on embeddings is not implemented by Peft.Net.TorchSharp; exclude the embedding or use plain LoRA.");
        if (options.Init is not (LoraInit.Default or LoraInit.Gaussian))
            throw new NotSupportedException($"LoRA init {options.Init} is not implemented for embeddings by Peft.Net.TorchSharp.");
        bool first = _adapters.Add(adapterName, options);
        var weight = BaseWeight();
        using (torch.no_grad())
        {
            var a = torch.zeros([options.Rank, NumEmbeddings], dtype: weight.dtype, device: weight.device);
            var b = torch.empty([EmbeddingDim, options.Rank], dtype: weight.dtype, device: weight.device);
            if (options.Init == LoraInit.Gaussian) { a.normal_(0, 1, generator); b.zero_(); }
            else b.normal_(0, 1, generator);
            _a.Add(adapterName, new Parameter(a, first));
            _b.Add(adapterName, new Parameter(b, first));
            _dropout.Add(adapterName, options.Dropout > 0 ? nn.Dropout(options.Dropout) : nn.Identity());
        }
    }

    /// <inheritdoc/>
    public void SetActiveAdapters(params string[] adapterNames)
    {
        _adapters.SetActive(adapterNames);
        foreach (var name in _adapters.Names)
        {
            bool on = _adapters.Active.Contains(name);
            _a[name].requires_grad = on;
            _b[name].requires_grad = on;
        }
    }

    /// <inheritdoc/>
    public void DeleteAdapter(string adapterName)
    {
        _adapters.Remove(adapterName);
        _a.Remove(adapterName);
        _b.Remove(adapterName);
        _dropout.Remove(adapterName);
    }

    // ids: (…) int64 → (…, D)
    /// <inheritdoc/>
    public override Tensor forward(Tensor ids)
    {
        if (AdaptersDisabled && _adapters.Merged.Count > 0) Unmerge();
        var result = _base.call(ids);
        if (AdaptersDisabled || _adapters.Merged.Count > 0) return result;
        foreach (var name in _adapters.Active)
        {
            var options = _adapters[name];
            var rows = _a[name].t().index_select(0, ids.flatten());                 // (n, R)
            var afterA = rows.view([.. ids.shape, options.Rank]);
            result = result + afterA.matmul(_b[name].t()) * options.Scaling;
        }
        return result;
    }

    /// <summary>The adapter's table change <c>scaling · (B·A)ᵀ</c> [num_embeddings, embedding_dim].</summary>
    public Tensor GetDeltaWeight(string adapterName)
    {
        using var _ = torch.no_grad();
        return _b[Require(adapterName)].matmul(_a[adapterName]).t() * _adapters[adapterName].Scaling;
    }

    /// <inheritdoc/>
    public void Merge(IReadOnlyList<string>? adapterNames = null)
    {
        using var _ = torch.no_grad();
        foreach (var name in adapterNames ?? _adapters.Active.ToList())
        {
            if (!_adapters.Contains(name) || _adapters.Merged.Contains(name)) continue;
            using var delta = GetDeltaWeight(name);
            BaseWeight().add_(delta);
            _adapters.Merged.Add(name);
        }
    }

    /// <inheritdoc/>
    public void Unmerge()
    {
        using var _ = torch.no_grad();
        for (int i = _adapters.Merged.Count - 1; i >= 0; i--)
        {
            using var delta = GetDeltaWeight(_adapters.Merged[i]);
            BaseWeight().sub_(delta);
        }
        _adapters.Merged.Clear();
    }

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    private Parameter BaseWeight() => _base switch
    {
        Embedding e => e.weight!,
        NeftuneEmbedding n => n.weight,
        _ => throw new InvalidOperationException("Unreachable: the base is checked in the constructor."),
    };

    private string Require(string adapterName) =>
        _adapters.Contains(adapterName) ? adapterName : throw new ArgumentException($"This layer has no adapter named '{adapterName}'.", nameof(adapterName));
}
