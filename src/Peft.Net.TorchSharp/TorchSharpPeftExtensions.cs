using Peft.Net.Lora;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// LoRA and DoRA surgery on any TorchSharp <see cref="nn.Module"/> tree (PEFT's <c>get_peft_model</c>,
/// <c>add_adapter</c>, <c>set_adapter</c>, <c>merge_and_unload</c>), with the same rules, configs and adapter files as
/// the engine's API. Targeted <see cref="Linear"/> / <see cref="Nf4Linear"/> modules become <see cref="LoraLinear"/>
/// (or <see cref="DoraLinear"/>), embeddings become <see cref="LoraEmbedding"/>, modules_to_save become
/// <see cref="ModulesToSaveWrapper"/>, wherever they sit: fields, <c>ModuleList</c>, <c>Sequential</c>,
/// <c>ModuleDict</c>, nested custom modules. The model is changed in place and keeps PEFT's parameter names.
/// </summary>
public static partial class TorchSharpPeftExtensions
{
    /// <summary>
    /// Adds a LoRA adapter to the targeted layers and freezes everything else. Targets: <paramref name="targetModules"/>
    /// (exact names or dotted suffixes such as "q_proj"), or <paramref name="targetRegex"/> (a regex over the whole
    /// dotted name, or "all-linear": every linear layer but the output head). With neither, "all-linear".
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="rank">r: the LoRA rank.</param>
    /// <param name="alpha">lora_alpha: scaling is alpha / r (alpha / √r with <paramref name="useRsLora"/>).</param>
    /// <param name="dropout">Dropout on the LoRA branch input (training mode only).</param>
    /// <param name="targetModules">Module names or dotted suffixes to adapt.</param>
    /// <param name="targetRegex">A full-name regex, or "all-linear".</param>
    /// <param name="useRsLora">Rank-stabilized scaling.</param>
    /// <param name="init">How A and B start (default: A kaiming-uniform, B zero; or Gaussian).</param>
    /// <param name="adapterName">The adapter's name; a model may hold several.</param>
    /// <param name="modulesToSave">Linear or embedding modules trained as full copies and saved whole.</param>
    /// <param name="seed">Seed of the initial A/B values.</param>
    /// <returns>Trainable and total parameter counts after the change (PEFT's <c>print_trainable_parameters</c> line via ToString).</returns>
    /// <exception cref="ArgumentException">An invalid value, a name in use, targets matching nothing, or a target that is neither linear nor an embedding.</exception>
    /// <exception cref="InvalidOperationException">A target cannot be replaced (for example a field typed as the sealed Linear); the message names the path.</exception>
    public static PeftSummary ApplyLora(this nn.Module model, int rank = 8, float alpha = 8, float dropout = 0, IEnumerable<string>? targetModules = null,
        string? targetRegex = null, bool useRsLora = false, LoraInit init = LoraInit.Default, string adapterName = "default",
        IEnumerable<string>? modulesToSave = null, ulong seed = 0) =>
        model.ApplyLora(PeftModelExtensions.BuildConfig(rank, alpha, dropout, targetModules, targetRegex, useRsLora, init, null, null, modulesToSave, useDora: false), adapterName, seed);

    /// <summary>The same as ApplyLora with DoRA: each adapted linear layer also learns a magnitude vector.</summary>
    /// <inheritdoc cref="ApplyLora(nn.Module, int, float, float, IEnumerable{string}?, string?, bool, LoraInit, string, IEnumerable{string}?, ulong)"/>
    public static PeftSummary ApplyDora(this nn.Module model, int rank = 8, float alpha = 8, float dropout = 0, IEnumerable<string>? targetModules = null,
        string? targetRegex = null, bool useRsLora = false, LoraInit init = LoraInit.Default, string adapterName = "default",
        IEnumerable<string>? modulesToSave = null, ulong seed = 0) =>
        model.ApplyLora(PeftModelExtensions.BuildConfig(rank, alpha, dropout, targetModules, targetRegex, useRsLora, init, null, null, modulesToSave, useDora: true), adapterName, seed);

    /// <summary>
    /// Adds the adapter <paramref name="config"/> describes (the same <see cref="LoraConfig"/> the engine uses, so the
    /// same JSON). The first adapter becomes active; later ones are added inactive until <see cref="SetAdapter"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The config is invalid, the name is in use, or the targets match nothing / a module LoRA cannot adapt.</exception>
    /// <exception cref="NotSupportedException">A config feature this backend does not implement (bias other than "none", lora_bias, fan_in_fan_out, PiSSA on a module that is not a float Linear…).</exception>
    public static PeftSummary ApplyLora(this nn.Module model, LoraConfig config, string adapterName = "default", ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(config);
        AddAdapterCore(model, config, adapterName, seed);
        return model.TrainableParameterSummary();
    }

    /// <summary>Trainable and total parameter counts; a 4-bit weight counts its [out, in] elements, as PEFT counts bitsandbytes weights.</summary>
    public static PeftSummary TrainableParameterSummary(this nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        long trainable = 0, all = 0;
        foreach (var p in model.parameters())
        {
            all += p.numel();
            if (p.requires_grad) trainable += p.numel();
        }
        foreach (var (_, module) in ModuleTree.NamedModules(model))
            if (module is Nf4Linear q) all += q.InFeatures * q.OutFeatures;
        return new PeftSummary(trainable, all);
    }

    /// <summary>The configs of the model's adapters by name, in the order they were added.</summary>
    public static IReadOnlyDictionary<string, LoraConfig> AdapterConfigs(this nn.Module model) =>
        TorchPeftState.Find(model)?.Configs.ToDictionary(p => p.Key, p => p.Value) ?? new Dictionary<string, LoraConfig>();

    /// <summary>The active adapter's name, or null.</summary>
    public static string? ActiveAdapter(this nn.Module model) => TorchPeftState.Find(model)?.Active;

    /// <summary>Makes <paramref name="adapterName"/> the active (and only trainable) adapter of every layer (PEFT's <c>set_adapter</c>).</summary>
    /// <exception cref="ArgumentException">The model has no such adapter.</exception>
    public static void SetAdapter(this nn.Module model, string adapterName)
    {
        var state = TorchPeftState.Require(model, adapterName);
        state.Active = adapterName;
        Activate(model, state);
    }

    /// <summary>Turns every adapter off (true) or on again (false); while off the model computes its base outputs.</summary>
    public static void DisableAdapters(this nn.Module model, bool disabled = true)
    {
        foreach (var (_, module) in TorchTargets.Candidates(model))
            if (module is ILoraModule layer) layer.AdaptersDisabled = disabled;
    }

    /// <summary>
    /// Merges the active adapter into the base weights with PEFT's formulas (LoRA: <c>W + s·B·A</c>; DoRA:
    /// <c>(m/‖W + s·B·A‖)·(W + s·B·A)</c>; a 4-bit base is re-quantized) and puts the base modules back in place of the
    /// LoRA layers (modules_to_save wrappers give way to the active copy). Returns the same model object, now plain.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no adapters.</exception>
    public static nn.Module MergeAndUnload(this nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var state = TorchPeftState.Find(model) ?? throw new InvalidOperationException($"The {model.GetType().Name} has no adapters to merge.");
        foreach (var (path, module) in TorchTargets.Candidates(model))
        {
            if (module is ILoraModule layer)
            {
                layer.Merge(state.Active is { } active && layer.AdapterNames.Contains(active) ? [active] : []);
                ModuleTree.Replace(model, path, layer.BaseLayer);
            }
            else if (module is ModulesToSaveWrapper wrapper)
            {
                ModuleTree.Replace(model, path, wrapper.ActiveAdapter is { } a ? wrapper.CopyOf(a) : wrapper.OriginalModule);
            }
        }
        TorchPeftState.Remove(model);
        return model;
    }

    /// <summary>Puts every base module back (adapters dropped, nothing merged) and forgets the adapters (PEFT's <c>unload</c>).</summary>
    public static nn.Module Unload(this nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (path, module) in TorchTargets.Candidates(model))
        {
            if (module is ILoraModule layer)
            {
                layer.Unmerge();
                ModuleTree.Replace(model, path, layer.BaseLayer);
            }
            else if (module is ModulesToSaveWrapper wrapper) ModuleTree.Replace(model, path, wrapper.OriginalModule);
        }
        TorchPeftState.Remove(model);
        return model;
    }

    // deferPissaRewrite (loading a folder): PiSSA layers leave their base alone and get zero A and B; the caller
    // rewrites the bases with PissaBaseRewrite once the file's tensors are in.
    internal static void AddAdapterCore(nn.Module model, LoraConfig config, string adapterName, ulong seed, bool deferPissaRewrite = false)
    {
        if (string.IsNullOrEmpty(adapterName) || adapterName.Contains('.'))
            throw new ArgumentException($"'{adapterName}' is not a valid adapter name: it must be non-empty and contain no '.'.", nameof(adapterName));
        if (config.FindProblem() is { } problem)
            throw new ArgumentException($"Invalid LoRA config: {problem}.", nameof(config));
        if (config.Bias != "none")
            throw new NotSupportedException($"bias \"{config.Bias}\" is not supported by Peft.Net.TorchSharp; use \"none\".");
        if (config.LoraBias)
            throw new NotSupportedException("lora_bias (a bias on lora_B) is not supported by Peft.Net.TorchSharp layers.");
        if (config.FanInFanOut)
            throw new NotSupportedException("fan_in_fan_out is for [in, out] weights (GPT-2 Conv1D); TorchSharp's Linear stores [out, in].");
        var init = config.Init ?? throw new NotSupportedException(
            $"init_lora_weights \"{config.InitLoraWeights}\" is not implemented by Peft.Net.TorchSharp (use true, \"gaussian\", \"pissa\" or \"pissa_niter_K\").");
        var existing = TorchPeftState.Find(model);
        if (existing?.Configs.ContainsKey(adapterName) == true)
            throw new ArgumentException($"The model already has an adapter named '{adapterName}'.", nameof(adapterName));

        // Find everything first, so a config that matches nothing leaves the model unchanged.
        var candidates = TorchTargets.Candidates(model);
        var described = TorchTargets.Describe(candidates);
        string modelName = model.GetType().Name;
        var toSave = TargetSelection.ModulesToSave(described, config.ModulesToSave ?? [], modelName).Select(i => candidates[i]).ToList();
        foreach (var (path, module) in toSave)
            if (module is ILoraModule)
                throw new ArgumentException($"modules_to_save '{path}' is already adapted by LoRA; a module cannot be both.");
        var (indexes, resolved) = TargetSelection.Resolve(described, config, modelName);
        var targets = indexes.Select(i => candidates[i]).ToList();
        foreach (var (path, module) in targets)
            if (module is not (ILoraModule or nn.Module<Tensor, Tensor>))
                throw new ArgumentException($"Target module '{path}' is a {module.GetType().Name}, which LoRA cannot adapt.");

        if (init == LoraInit.PiSSA && targets.FirstOrDefault(t => t.Module is not (Linear or LoraLinear)) is { Module: not null } notFloatLinear)
            throw new NotSupportedException(
                $"PiSSA initialisation applies to float linear layers only (as in PEFT); '{notFloatLinear.Path}' is a {notFloatLinear.Module.GetType().Name}. Exclude it from target_modules.");
        var generator = new Generator(seed);
        var wrappers = toSave.Select(m => m.Module as ModulesToSaveWrapper ?? Wrap(model, m.Path, new ModulesToSaveWrapper((nn.Module<Tensor, Tensor>)m.Module, m.Path))).ToList();
        foreach (var (path, module) in targets)
        {
            var options = new LoraAdapterOptions(config.RankFor(path), (float)config.AlphaFor(path), (float)config.LoraDropout, config.UseRsLora, init, config.UseDora)
            {
                PissaNiter = init == LoraInit.PiSSA ? config.PissaNiter : null,
            };
            var layer = module as ILoraModule ?? (ILoraModule)Wrap(model, path, WrapperFor(path, (nn.Module<Tensor, Tensor>)module, config.UseDora));
            if (deferPissaRewrite && layer is LoraLinear linear) linear.AddAdapter(adapterName, options, generator, rewriteBase: false);
            else layer.AddAdapter(adapterName, options, generator);
        }
        foreach (var wrapper in wrappers) wrapper.AddAdapter(adapterName);

        var state = TorchPeftState.GetOrCreate(model);
        state.Configs.Add(adapterName, resolved is null ? config : config with { TargetModules = resolved, TargetModulesRegex = null });
        state.Active ??= adapterName;
        Activate(model, state);
    }

    private static nn.Module<Tensor, Tensor> WrapperFor(string path, nn.Module<Tensor, Tensor> module, bool dora) => module switch
    {
        Linear or Nf4Linear => dora ? new DoraLinear(module) : new LoraLinear(module),
        Embedding or NeftuneEmbedding => new LoraEmbedding(module),
        _ => throw new ArgumentException($"Target module '{path}' is a {module.GetType().Name}, which LoRA cannot adapt."),
    };

    private static T Wrap<T>(nn.Module model, string path, T wrapper) where T : nn.Module
    {
        ModuleTree.Replace(model, path, wrapper);
        return wrapper;
    }

    /// <summary>Freezes everything, then unfreezes the active adapter's parameters and modules_to_save copies.</summary>
    private static void Activate(nn.Module model, TorchPeftState state)
    {
        foreach (var p in model.parameters()) p.requires_grad = false;
        foreach (var (_, module) in TorchTargets.Candidates(model))
        {
            if (module is ILoraModule layer)
            {
                if (state.Active is { } active && layer.AdapterNames.Contains(active)) layer.SetActiveAdapters(active);
                else layer.SetActiveAdapters();
            }
            else if (module is ModulesToSaveWrapper wrapper)
            {
                wrapper.ActiveAdapter = state.Active is { } a && wrapper.AdapterNames.Contains(a) ? a : null;
                if (wrapper.ActiveAdapter is { } on)
                    foreach (var p in wrapper.CopyOf(on).parameters()) p.requires_grad = true;
            }
        }
    }
}
