using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// A layer that wraps a frozen base layer and holds named LoRA adapters (PEFT's <c>LoraLayer</c>): adapters can be
/// added, activated, disabled, merged into the base weight, unmerged and deleted.
/// </summary>
public interface ILoraLayer
{
    /// <summary>The wrapped base layer (registered as the submodule <c>base_layer</c>).</summary>
    Module BaseLayer { get; }

    /// <summary>Every adapter this layer holds, in the order they were added.</summary>
    IReadOnlyList<string> AdapterNames { get; }

    /// <summary>The adapters the forward pass adds, in order.</summary>
    IReadOnlyList<string> ActiveAdapters { get; }

    /// <summary>
    /// Adds an adapter. The first adapter becomes active; later ones are added inactive and frozen, as in PEFT
    /// (activate them with <see cref="SetActiveAdapters"/>).
    /// </summary>
    /// <param name="adapterName">A new name without '.'.</param>
    /// <param name="options">Rank, alpha, dropout, rsLoRA, init and DoRA.</param>
    /// <param name="random">Generator for the initial weights and the adapter's dropout masks.</param>
    /// <exception cref="ArgumentException">The name is empty, has a '.', or exists; or the options are invalid.</exception>
    void AddAdapter(string adapterName, LoraAdapterOptions options, TensorRandom random);

    /// <summary>
    /// Makes exactly these adapters active (possibly none). Active adapters become trainable, the others frozen,
    /// as PEFT's <c>set_adapter</c> does.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not an adapter of this layer.</exception>
    void SetActiveAdapters(params string[] adapterNames);

    /// <summary>
    /// When true the forward pass returns the base layer's output only (merged adapters are unmerged first, as in
    /// PEFT). The adapters and their state are kept.
    /// </summary>
    bool AdaptersDisabled { get; set; }

    /// <summary>
    /// Removes an adapter. When it was the only active one, the first remaining adapter becomes active (PEFT's rule).
    /// </summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    /// <exception cref="InvalidOperationException">The adapter is merged; unmerge first.</exception>
    void DeleteAdapter(string adapterName);

    /// <summary>
    /// Merges adapters into the base weight (default: the active ones), in order, with PEFT's formulas (DoRA
    /// included). Names this layer does not hold, and adapters already merged, are skipped, as in PEFT. While any
    /// adapter is merged the forward pass is the base layer alone.
    /// </summary>
    void Merge(IReadOnlyList<string>? adapterNames = null);

    /// <summary>Subtracts every merged adapter from the base weight again, last merged first.</summary>
    void Unmerge();

    /// <summary>The merged adapters in the order they were merged.</summary>
    IReadOnlyList<string> MergedAdapters { get; }

    /// <summary>The adapter's weight change <c>scaling · B·A</c> as a new float32 tensor shaped like the base weight.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    Tensor GetDeltaWeight(string adapterName);

    /// <summary>The options the adapter was created with.</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    LoraAdapterOptions GetOptions(string adapterName);

    /// <summary>The adapter's scaling factor (alpha/r, or alpha/√r with rsLoRA).</summary>
    /// <exception cref="ArgumentException">No such adapter.</exception>
    float GetScaling(string adapterName);
}
