using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// PEFT's <c>ModulesToSaveWrapper</c> for TorchSharp: keeps the frozen <c>original_module</c> and a trainable copy per
/// adapter in <c>modules_to_save.&lt;adapter&gt;</c>; the forward pass runs the active adapter's copy. Copies are
/// made for <see cref="Linear"/> and <see cref="Embedding"/> modules (TorchSharp has no generic deep copy).
/// </summary>
public sealed class ModulesToSaveWrapper : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> _original;
    private readonly AdapterModuleDict<nn.Module<Tensor, Tensor>> _copies = new();
    private readonly List<string> _names = [];

    /// <summary>Wraps <paramref name="original"/> (frozen).</summary>
    /// <exception cref="NotSupportedException">The module is neither a Linear nor an Embedding.</exception>
    public ModulesToSaveWrapper(nn.Module<Tensor, Tensor> original, string path) : base(nameof(ModulesToSaveWrapper))
    {
        ArgumentNullException.ThrowIfNull(original);
        if (original is not (Linear or Embedding))
            throw new NotSupportedException(
                $"modules_to_save '{path}' is a {original.GetType().Name}; Peft.Net.TorchSharp copies Linear and Embedding modules only (TorchSharp has no generic deep copy).");
        _original = original;
        register_module("original_module", _original);
        register_module("modules_to_save", _copies);
        foreach (var p in _original.parameters()) p.requires_grad = false;
    }

    /// <summary>The frozen original module.</summary>
    public nn.Module<Tensor, Tensor> OriginalModule => _original;

    /// <summary>The adapters that have a copy.</summary>
    public IReadOnlyList<string> AdapterNames => _names;

    /// <summary>The adapter whose copy the forward pass uses (null: the original).</summary>
    public string? ActiveAdapter { get; set; }

    /// <summary>The copy of an adapter.</summary>
    public nn.Module<Tensor, Tensor> CopyOf(string adapterName) => _copies[adapterName];

    /// <summary>Adds a trainable copy of the original for <paramref name="adapterName"/>.</summary>
    public void AddAdapter(string adapterName)
    {
        using var _ = torch.no_grad();
        nn.Module<Tensor, Tensor> copy = _original switch
        {
            Linear l => CopyLinear(l),
            Embedding e => CopyEmbedding(e),
            _ => throw new InvalidOperationException("Unreachable: checked in the constructor."),
        };
        foreach (var p in copy.parameters()) p.requires_grad = true;
        _copies.Add(adapterName, copy);
        _names.Add(adapterName);
        ActiveAdapter ??= adapterName;
    }

    // x → the active copy's output, or the original's
    /// <inheritdoc/>
    public override Tensor forward(Tensor x) =>
        ActiveAdapter is { } name && _copies.TryGetValue(name, out var copy) ? copy.call(x) : _original.call(x);

    /// <inheritdoc/>
    protected override void RegisterComponents() { }

    private static Linear CopyLinear(Linear l)
    {
        var copy = nn.Linear(l.in_features, l.out_features, hasBias: l.bias is not null, device: l.weight!.device, dtype: l.weight.dtype);
        copy.weight!.copy_(l.weight);
        if (l.bias is not null) copy.bias!.copy_(l.bias);
        return copy;
    }

    private static Embedding CopyEmbedding(Embedding e)
    {
        var w = e.weight!;
        var copy = nn.Embedding(w.shape[0], w.shape[1], device: w.device, dtype: w.dtype);
        copy.weight!.copy_(w);
        return copy;
    }
}
