using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net;

public static partial class PeftModelExtensions
{
    /// <summary>
    /// Makes <paramref name="adapterName"/> the active adapter on every layer that has it (layers without it run their
    /// base only) and makes its parameters trainable — unless it was loaded for inference — and every other adapter's frozen.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no such adapter.</exception>
    public static void SetAdapter(this Module model, string adapterName)
    {
        var state = PeftModelState.Require(model, adapterName);
        state.Active = adapterName;
        SyncActive(model, state);
    }

    /// <summary>
    /// Runs the base model inside a <c>using</c> scope: every LoRA layer and modules_to_save wrapper is disabled until the
    /// returned scope is disposed, which restores each one's previous setting (PEFT's <c>disable_adapter()</c>).
    /// </summary>
    public static IDisposable DisableAdapters(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var restore = new List<Action>();
        foreach (var (_, module) in LoraTargets.Candidates(model))
        {
            if (module is ILoraLayer layer)
            {
                bool previous = layer.AdaptersDisabled;
                layer.AdaptersDisabled = true;
                restore.Add(() => layer.AdaptersDisabled = previous);
            }
            else if (module is ModulesToSaveWrapper wrapper)
            {
                bool previous = wrapper.AdaptersDisabled;
                wrapper.AdaptersDisabled = true;
                restore.Add(() => wrapper.AdaptersDisabled = previous);
            }
        }
        return new RestoreScope(restore);
    }

    /// <summary>
    /// Removes adapter <paramref name="adapterName"/> from every layer. When it was active, the first remaining adapter
    /// becomes active (as PEFT does). The LoRA wrappers stay; <see cref="Unload"/> removes them.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no such adapter.</exception>
    /// <exception cref="InvalidOperationException">The adapter is merged into a base weight (unmerge first).</exception>
    public static void DeleteAdapter(this Module model, string adapterName)
    {
        var state = PeftModelState.Require(model, adapterName);
        foreach (var (_, module) in LoraTargets.Candidates(model))
        {
            if (module is ILoraLayer layer && layer.AdapterNames.Contains(adapterName)) layer.DeleteAdapter(adapterName);
            else if (module is ModulesToSaveWrapper wrapper) wrapper.DeleteAdapter(adapterName);
        }
        state.Configs.Remove(adapterName);
        if (state.Active == adapterName)
            state.Active = state.Configs.Count > 0 ? state.Configs.GetAt(0).Key : null;
        SyncActive(model, state);
    }

    /// <summary>
    /// Merges adapters into the base weights of their layers, in place, keeping the wrappers so
    /// <see cref="UnmergeAdapter"/> can undo it (PEFT's <c>merge_adapter</c>). Default: the active adapter.
    /// </summary>
    /// <exception cref="ArgumentException">A named adapter does not exist.</exception>
    public static void MergeAdapter(this Module model, IReadOnlyList<string>? adapterNames = null)
    {
        var names = AdaptersOrActive(model, adapterNames);
        foreach (var (_, layer) in LoraLayers(model))
            MergeInto(layer, names);
    }

    /// <summary>Undoes <see cref="MergeAdapter"/> on every layer (PEFT's <c>unmerge_adapter</c>).</summary>
    public static void UnmergeAdapter(this Module model)
    {
        foreach (var (_, layer) in LoraLayers(model))
            if (layer.MergedAdapters.Count > 0) layer.Unmerge();
    }

    /// <summary>
    /// Merges adapters (default: the active one) into the base weights and replaces every LoRA wrapper by its base
    /// layer and every modules_to_save wrapper by the active copy; the model then has no adapters (PEFT's
    /// <c>merge_and_unload</c>, but in place). Returns <paramref name="model"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A named adapter does not exist.</exception>
    public static Module MergeAndUnload(this Module model, IReadOnlyList<string>? adapterNames = null)
    {
        var names = AdaptersOrActive(model, adapterNames);
        foreach (var (path, layer) in LoraLayers(model))
        {
            MergeInto(layer, names);
            model.ReplaceSubmodule(path, BaseForUnload(layer));
        }
        foreach (var (path, wrapper) in SaveWrappers(model))
        {
            wrapper.AdaptersDisabled = false;
            model.ReplaceSubmodule(path, wrapper.Current);
        }
        PeftModelState.Remove(model);
        return model;
    }

    /// <summary>
    /// Removes every adapter without merging: LoRA wrappers are replaced by their base layers (unmerged first, so the
    /// original weights come back) and modules_to_save wrappers by their original modules (PEFT's <c>unload</c>).
    /// Returns <paramref name="model"/>. The base parameters stay frozen.
    /// </summary>
    public static Module Unload(this Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (path, layer) in LoraLayers(model))
        {
            if (layer.MergedAdapters.Count > 0) layer.Unmerge();
            model.ReplaceSubmodule(path, BaseForUnload(layer));
        }
        foreach (var (path, wrapper) in SaveWrappers(model))
            model.ReplaceSubmodule(path, wrapper.OriginalModule);
        PeftModelState.Remove(model);
        return model;
    }

    /// <summary>
    /// Adds adapter <paramref name="newAdapterName"/> combining <paramref name="adapters"/> with <paramref name="weights"/>
    /// (PEFT's <c>add_weighted_adapter</c>, reference §3.4). "cat": ranks add up, rows of A are <c>w_i·scaling_i·A_i</c>
    /// and columns of B are <c>B_i</c> — exactly the weighted sum of the deltas. "linear": ranks must be equal,
    /// <c>A = Σ sign(w_i·s_i)·√|w_i·s_i|·A_i</c>, <c>B = Σ √|w_i·s_i|·B_i</c>. The new adapter has
    /// <c>r = lora_alpha = new rank</c> and scaling 1 (rsLoRA off, so the scaling really is 1), and is not activated.
    /// </summary>
    /// <exception cref="ArgumentException">Unknown adapters, a name in use, counts that differ, or unequal ranks for "linear".</exception>
    /// <exception cref="NotSupportedException">Another combination type (svd, ties, dare…), DoRA adapters, or adapters with rank/alpha patterns.</exception>
    public static void AddWeightedAdapter(this Module model, IReadOnlyList<string> adapters, IReadOnlyList<float> weights, string newAdapterName,
        string combinationType = "linear")
    {
        ArgumentNullException.ThrowIfNull(adapters);
        ArgumentNullException.ThrowIfNull(weights);
        if (adapters.Count == 0 || adapters.Count != weights.Count)
            throw new ArgumentException($"AddWeightedAdapter needs one weight per adapter; got {adapters.Count} adapters and {weights.Count} weights.");
        var state = PeftModelState.Require(model, adapters[0]);
        foreach (var name in adapters) PeftModelState.Require(model, name);
        if (state.Configs.ContainsKey(newAdapterName))
            throw new ArgumentException($"The model already has an adapter named '{newAdapterName}'.", nameof(newAdapterName));
        var configs = adapters.Select(a => state.Configs[a]).ToList();
        if (configs.Any(c => c.LoraBias))
            throw new NotSupportedException("AddWeightedAdapter cannot combine adapters with lora_bias (their lora_B biases are not combined).");
        if (configs.Any(c => c.UseDora))
            throw new NotSupportedException("AddWeightedAdapter cannot combine DoRA adapters (their magnitude vectors do not add up).");
        if (configs.Any(c => c.RankPattern.Count > 0 || c.AlphaPattern.Count > 0))
            throw new NotSupportedException("AddWeightedAdapter needs adapters without rank_pattern/alpha_pattern (every layer of an adapter must have rank r).");
        int newRank = combinationType switch
        {
            "linear" => configs.Select(c => c.R).Distinct().Count() == 1
                ? configs[0].R
                : throw new ArgumentException($"combination_type \"linear\" needs adapters of equal rank; ranks are [{string.Join(", ", configs.Select(c => c.R))}]. Use \"cat\"."),
            "cat" => configs.Sum(c => c.R),
            _ => throw new NotSupportedException($"combination_type \"{combinationType}\" is not implemented; use \"linear\" or \"cat\"."),
        };

        var layers = LoraLayers(model).Where(l => adapters.Any(a => l.Layer.AdapterNames.Contains(a))).ToList();
        var random = new TensorRandom(0);
        foreach (var (_, layer) in layers)
        {
            layer.AddAdapter(newAdapterName, new LoraAdapterOptions(newRank, newRank, (float)configs[0].LoraDropout), random);
            WeightedCombination.Fill(layer, adapters, weights, newAdapterName, combinationType == "cat");
        }
        var targets = configs.All(c => c.TargetModules is not null)
            ? configs.SelectMany(c => c.TargetModules!).Distinct(StringComparer.Ordinal).ToList()
            : layers.Select(l => l.Path).ToList();
        state.Configs.Add(newAdapterName, configs[0] with
        {
            R = newRank,
            LoraAlpha = newRank,
            UseRsLora = false,
            RankPattern = new OrderedDictionary<string, int>(),
            AlphaPattern = new OrderedDictionary<string, double>(),
            TargetModules = targets,
            TargetModulesRegex = null,
            InitLoraWeights = "true",
        });
        SyncActive(model, state);
    }

    /// <summary>The LoRA layers of the model with their paths (not nested ones).</summary>
    internal static List<(string Path, ILoraLayer Layer)> LoraLayers(Module model) =>
        LoraTargets.Candidates(model).Where(c => c.Module is ILoraLayer).Select(c => (c.Path, (ILoraLayer)c.Module)).ToList();

    /// <summary>
    /// The linear layers holding <paramref name="adapterName"/> whose base a load-time rewrite (PiSSA, OLoRA) changes:
    /// all but those whose base weight the adapter file itself holds (<paramref name="overwrittenFileKeys"/>).
    /// </summary>
    internal static List<(string Path, LoraLinear Layer)> RewritableBaseLayers(Module model, string adapterName,
        IReadOnlyCollection<string> overwrittenFileKeys) =>
        LoraLayers(model)
            .Where(l => l.Layer is LoraLinear && l.Layer.AdapterNames.Contains(adapterName)
                        && !overwrittenFileKeys.Contains(AdapterFiles.KeyPrefix + l.Path + ".base_layer.weight"))
            .Select(l => (l.Path, (LoraLinear)l.Layer)).ToList();

    private static List<(string Path, ModulesToSaveWrapper Wrapper)> SaveWrappers(Module model) =>
        LoraTargets.Candidates(model).Where(c => c.Module is ModulesToSaveWrapper).Select(c => (c.Path, (ModulesToSaveWrapper)c.Module)).ToList();

    private static IReadOnlyList<string> AdaptersOrActive(Module model, IReadOnlyList<string>? adapterNames)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (adapterNames is null)
            return PeftModelState.Find(model)?.Active is { } active ? [active] : [];
        foreach (var name in adapterNames) PeftModelState.Require(model, name);
        return adapterNames;
    }

    private static void MergeInto(ILoraLayer layer, IReadOnlyList<string> names)
    {
        var toMerge = names.Where(n => layer.AdapterNames.Contains(n) && !layer.MergedAdapters.Contains(n)).ToList();
        if (toMerge.Count > 0) layer.Merge(toMerge);
    }

    /// <summary>Freezes every parameter that belongs to no adapter (base weights, norms, biases).</summary>
    internal static void FreezeNonAdapterParameters(Module model, PeftModelState state)
    {
        foreach (var (key, parameter) in model.NamedParameters())
            if (OwnerAdapter(key, state) is null)
                parameter.RequiresGrad = false;
    }

    /// <summary>Activates the state's active adapter on every layer and sets which adapter parameters train.</summary>
    internal static void SyncActive(Module model, PeftModelState state)
    {
        foreach (var (_, module) in LoraTargets.Candidates(model))
        {
            if (module is ILoraLayer layer)
                layer.SetActiveAdapters(state.Active is { } a && layer.AdapterNames.Contains(a) ? [a] : []);
            else if (module is ModulesToSaveWrapper wrapper)
                wrapper.SetActiveAdapter(state.Active);
        }
        foreach (var (key, parameter) in model.NamedParameters())
            if (OwnerAdapter(key, state) is { } owner)
                parameter.RequiresGrad = owner == state.Active && !state.Configs[owner].InferenceMode && parameter.DType == DType.F32;
        BaseBiases.Sync(model, state);
    }

    private static string? OwnerAdapter(string key, PeftModelState state)
    {
        foreach (var name in state.Configs.Keys)
            if (AdapterKeys.ToFileKey(key, name) is not null)
                return name;
        return null;
    }

    private sealed class RestoreScope(List<Action> restore) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var action in restore) action();
        }
    }
}
