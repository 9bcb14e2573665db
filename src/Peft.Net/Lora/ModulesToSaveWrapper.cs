using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// PEFT's <c>ModulesToSaveWrapper</c>: keeps the frozen <c>original_module</c> and, per adapter, a trainable full copy
/// under <c>modules_to_save.&lt;adapter&gt;</c>. The forward pass uses the active adapter's copy, or the original when
/// adapters are disabled or the active adapter has no copy. Saved adapter files hold the copy under the module's own
/// keys (<c>base_model.model.score.weight</c>).
/// </summary>
public sealed class ModulesToSaveWrapper : Module
{
    private const string OriginalName = "original_module";
    private const string CopiesName = "modules_to_save";
    private readonly string _path;

    /// <summary>Wraps <paramref name="original"/> (which is frozen); <paramref name="path"/> names it in error messages.</summary>
    public ModulesToSaveWrapper(Module original, string path)
    {
        ArgumentNullException.ThrowIfNull(original);
        _path = path;
        RegisterModule(OriginalName, original);
        RegisterModule(CopiesName, new AdapterModuleDict());
        original.RequiresGrad(false);
        Train(original.IsTraining);
    }

    /// <summary>The frozen original module.</summary>
    public Module OriginalModule => Child<Module>(OriginalName);

    /// <summary>Names of the adapters that have a copy.</summary>
    public IReadOnlyList<string> AdapterNames => Copies.Names;

    /// <summary>The adapter whose copy runs, or null for the original.</summary>
    public string? ActiveAdapter { get; private set; }

    /// <summary>When true the original module runs regardless of <see cref="ActiveAdapter"/>.</summary>
    public bool AdaptersDisabled { get; set; }

    private AdapterModuleDict Copies => Child<AdapterModuleDict>(CopiesName);

    /// <summary>The trainable copy of adapter <paramref name="adapterName"/>.</summary>
    /// <exception cref="KeyNotFoundException">No copy for that adapter.</exception>
    public Module GetCopy(string adapterName) => Copies.Contains(adapterName)
        ? Copies.Get<Module>(adapterName)
        : throw new KeyNotFoundException($"modules_to_save '{_path}' has no copy for adapter '{adapterName}' (has [{string.Join(", ", Copies.Names)}]).");

    /// <summary>Adds a trainable copy of the original for <paramref name="adapterName"/>.</summary>
    /// <exception cref="ArgumentException">The adapter already has a copy.</exception>
    /// <exception cref="NotSupportedException">The original's type cannot be copied.</exception>
    public void AddAdapter(string adapterName)
    {
        if (Copies.Contains(adapterName))
            throw new ArgumentException($"modules_to_save '{_path}' already has a copy for adapter '{adapterName}'.", nameof(adapterName));
        Copies.Add(adapterName, ModuleCopier.Copy(OriginalModule, _path));
    }

    /// <summary>Makes <paramref name="adapterName"/>'s copy the one that runs (null, or an adapter without a copy: the original).</summary>
    public void SetActiveAdapter(string? adapterName) => ActiveAdapter = adapterName;

    /// <summary>Removes the copy of <paramref name="adapterName"/> (no-op when it has none).</summary>
    public void DeleteAdapter(string adapterName)
    {
        if (!Copies.Contains(adapterName)) return;
        ReplaceSubmodule(CopiesName, Copies.Without(adapterName));
        if (ActiveAdapter == adapterName) ActiveAdapter = null;
    }

    /// <summary>The module that runs now: the active copy, or the original.</summary>
    public Module Current =>
        !AdaptersDisabled && ActiveAdapter is { } name && Copies.Contains(name) ? Copies.Get<Module>(name) : OriginalModule;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Current.Forward(input);
}
