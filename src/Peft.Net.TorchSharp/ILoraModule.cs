using Peft.Net.Lora;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A TorchSharp layer that wraps a frozen base module and holds named LoRA adapters (PEFT's <c>LoraLayer</c>):
/// <see cref="LoraLinear"/>, <see cref="DoraLinear"/> and <see cref="LoraEmbedding"/>.
/// </summary>
public interface ILoraModule
{
    /// <summary>The wrapped base module (registered as <c>base_layer</c>).</summary>
    nn.Module BaseLayer { get; }

    /// <summary>Every adapter this layer holds, in the order they were added.</summary>
    IReadOnlyList<string> AdapterNames { get; }

    /// <summary>The adapters the forward pass adds, in order.</summary>
    IReadOnlyList<string> ActiveAdapters { get; }

    /// <summary>When true the forward pass is the base module's alone (adapters kept).</summary>
    bool AdaptersDisabled { get; set; }

    /// <summary>The merged adapters, in merge order; while any is merged the forward pass is the base module's.</summary>
    IReadOnlyList<string> MergedAdapters { get; }

    /// <summary>Adds an adapter; the first becomes active, later ones are added inactive and frozen (PEFT's rule).</summary>
    /// <param name="adapterName">A new name without '.'.</param>
    /// <param name="options">Rank, alpha, dropout, rsLoRA, init and DoRA.</param>
    /// <param name="generator">Generator of the initial values (null: TorchSharp's default generator).</param>
    void AddAdapter(string adapterName, LoraAdapterOptions options, Generator? generator = null);

    /// <summary>Makes exactly these adapters active (trainable); the others are frozen.</summary>
    void SetActiveAdapters(params string[] adapterNames);

    /// <summary>Removes an adapter (not while merged).</summary>
    void DeleteAdapter(string adapterName);

    /// <summary>The options the adapter was created with.</summary>
    LoraAdapterOptions GetOptions(string adapterName);

    /// <summary>Merges adapters (default: the active ones) into the base weight with PEFT's formulas.</summary>
    void Merge(IReadOnlyList<string>? adapterNames = null);

    /// <summary>Subtracts every merged adapter from the base weight again, last merged first.</summary>
    void Unmerge();
}
