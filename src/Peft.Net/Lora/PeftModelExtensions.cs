using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Neftune;
using Peft.Net.Lora;

namespace Peft.Net;

/// <summary>
/// Model surgery for LoRA/DoRA on any <see cref="Module"/> (PEFT's <c>get_peft_model</c>, <c>add_adapter</c>,
/// <c>set_adapter</c>, <c>merge_and_unload</c>…): targeted linear layers are replaced in place by
/// <see cref="LoraLinear"/> wrappers, embeddings by <see cref="LoraEmbedding"/>, modules_to_save by
/// <see cref="ModulesToSaveWrapper"/>. The adapters' configs and the active adapter are remembered per model object.
/// </summary>
/// <remarks>
/// The model keeps PyTorch/PEFT parameter names (<c>model.layers.0.self_attn.q_proj.lora_A.default.weight</c>), so
/// the adapter files match PEFT's. Unlike PEFT, the model is changed in place (there is no separate PeftModel).
/// </remarks>
public static partial class PeftModelExtensions
{
    /// <summary>
    /// Adds a LoRA adapter to the targeted layers and freezes everything else. Targets: <paramref name="targetModules"/>
    /// (exact names or dotted suffixes such as "q_proj"), or <paramref name="targetRegex"/> (a regex over the whole
    /// dotted name, or "all-linear": every linear layer but the output head — the module named <c>lm_head</c>, else
    /// the last linear whose output size is the input embedding's vocabulary). With neither, "all-linear".
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="rank">r: the LoRA rank.</param>
    /// <param name="alpha">lora_alpha: scaling is alpha / r (alpha / √r with <paramref name="useRsLora"/>).</param>
    /// <param name="dropout">Dropout on the LoRA branch input (training mode only).</param>
    /// <param name="targetModules">Module names or dotted suffixes to adapt.</param>
    /// <param name="targetRegex">A full-name regex, or "all-linear".</param>
    /// <param name="useRsLora">Rank-stabilized scaling.</param>
    /// <param name="init">How A and B start (default: A kaiming-uniform, B zero; PiSSA also rewrites the base weight).</param>
    /// <param name="adapterName">The adapter's name; a model may hold several.</param>
    /// <param name="rankPattern">Per-module ranks: the first key (in enumeration order) whose regex matches a dotted suffix of the module name wins.</param>
    /// <param name="alphaPattern">Per-module alphas, matched like <paramref name="rankPattern"/>.</param>
    /// <param name="modulesToSave">Modules trained as full copies and saved whole (e.g. a classifier head).</param>
    /// <param name="seed">Seed of the initial A/B values.</param>
    /// <returns>Trainable and total parameter counts after the change.</returns>
    /// <exception cref="ArgumentException">An invalid value, an adapter name already in use, targets matching nothing, or a target that is not a linear layer or an embedding.</exception>
    public static PeftSummary ApplyLora(this Module model, int rank = 8, float alpha = 8, float dropout = 0, IEnumerable<string>? targetModules = null,
        string? targetRegex = null, bool useRsLora = false, LoraInit init = LoraInit.Default, string adapterName = "default",
        IReadOnlyDictionary<string, int>? rankPattern = null, IReadOnlyDictionary<string, float>? alphaPattern = null,
        IEnumerable<string>? modulesToSave = null, ulong seed = 0) =>
        model.ApplyLora(BuildConfig(rank, alpha, dropout, targetModules, targetRegex, useRsLora, init, rankPattern, alphaPattern, modulesToSave, useDora: false),
            adapterName, seed);

    /// <summary>
    /// <see cref="ApplyLora(Module, int, float, float, IEnumerable{string}?, string?, bool, LoraInit, string, IReadOnlyDictionary{string, int}?, IReadOnlyDictionary{string, float}?, IEnumerable{string}?, ulong)"/>
    /// with DoRA: each adapted layer also learns a magnitude vector (initialised to the row norms of its weight).
    /// </summary>
    /// <inheritdoc cref="ApplyLora(Module, int, float, float, IEnumerable{string}?, string?, bool, LoraInit, string, IReadOnlyDictionary{string, int}?, IReadOnlyDictionary{string, float}?, IEnumerable{string}?, ulong)"/>
    public static PeftSummary ApplyDora(this Module model, int rank = 8, float alpha = 8, float dropout = 0, IEnumerable<string>? targetModules = null,
        string? targetRegex = null, bool useRsLora = false, LoraInit init = LoraInit.Default, string adapterName = "default",
        IReadOnlyDictionary<string, int>? rankPattern = null, IReadOnlyDictionary<string, float>? alphaPattern = null,
        IEnumerable<string>? modulesToSave = null, ulong seed = 0) =>
        model.ApplyLora(BuildConfig(rank, alpha, dropout, targetModules, targetRegex, useRsLora, init, rankPattern, alphaPattern, modulesToSave, useDora: true),
            adapterName, seed);

    /// <summary>
    /// Adds the adapter <paramref name="config"/> describes (PEFT's <c>get_peft_model</c> for the first adapter,
    /// <c>add_adapter</c> for later ones). The first adapter becomes active; later ones are added inactive (and
    /// frozen) until <see cref="SetAdapter"/>. Everything that is not an adapter parameter is frozen.
    /// </summary>
    /// <param name="model">The model to change in place.</param>
    /// <param name="config">What to adapt and how; a null <see cref="LoraConfig.TaskType"/> is taken from the model when it is an <see cref="IPeftTaskModel"/>.</param>
    /// <param name="adapterName">The adapter's name.</param>
    /// <param name="seed">Seed of the initial A/B values.</param>
    /// <returns>Trainable and total parameter counts after the change.</returns>
    /// <exception cref="ArgumentException">The config is invalid, the name is in use, or the targets match nothing / a module LoRA cannot adapt.</exception>
    /// <exception cref="NotSupportedException">A config feature Peft.Net does not implement for training (layer_replication, an init method other than true/gaussian/pissa/pissa_niter_K, lora_bias with DoRA or on an embedding).</exception>
    public static PeftSummary ApplyLora(this Module model, LoraConfig config, string adapterName = "default", ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        var init = config.Init ?? throw new NotSupportedException(
            $"init_lora_weights \"{config.InitLoraWeights}\" is not implemented by Peft.Net (use true, \"gaussian\", \"pissa\" or \"pissa_niter_K\" with K a non-negative integer).");
        if (config.TaskType is null && model is IPeftTaskModel taskModel)
            config = config with { TaskType = taskModel.PeftTaskType };
        AddAdapterCore(model, config, adapterName, init, seed);
        return PeftSummary.Of(model);
    }

    /// <summary>The configs of the model's adapters by name, in the order they were added (empty without adapters).</summary>
    public static IReadOnlyDictionary<string, LoraConfig> AdapterConfigs(this Module model) =>
        new System.Collections.ObjectModel.ReadOnlyDictionary<string, LoraConfig>(
            PeftModelState.Find(model)?.Configs ?? (IDictionary<string, LoraConfig>)new Dictionary<string, LoraConfig>());

    /// <summary>The active adapter's name, or null.</summary>
    public static string? ActiveAdapter(this Module model) => PeftModelState.Find(model)?.Active;

    /// <summary>The model's trainable and total parameter counts (PEFT's <c>print_trainable_parameters</c> line via ToString).</summary>
    public static PeftSummary TrainableParameterSummary(this Module model) => PeftSummary.Of(model);

    // deferPissaRewrite (loading a folder): PiSSA layers leave their base alone and get zero A and B; the caller
    // rewrites the bases with PissaBaseRewrite once the file's tensors are in.
    internal static void AddAdapterCore(Module model, LoraConfig config, string adapterName, LoraInit init, ulong seed, bool deferPissaRewrite = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (string.IsNullOrEmpty(adapterName) || adapterName.Contains('.'))
            throw new ArgumentException($"'{adapterName}' is not a valid adapter name: it must be non-empty and contain no '.'.", nameof(adapterName));
        if (config.FindProblem() is { } problem)
            throw new ArgumentException($"Invalid LoRA config: {problem}.", nameof(config));
        if (config.Bias is not ("none" or "all" or "lora_only"))
            throw new ArgumentException($"Invalid LoRA config: 'bias' must be \"none\", \"all\" or \"lora_only\", found \"{config.Bias}\".", nameof(config));
        if (config.LoraBias && config.UseDora)
            throw new NotSupportedException("lora_bias cannot be combined with use_dora (as in PEFT).");
        if (config.ExtraFields.TryGetValue("layer_replication", out var replication) && replication is not null)
            throw new NotSupportedException(
                $"layer_replication {replication.ToJsonString()} is not supported by Peft.Net (it duplicates base layers before adapting them); use an adapter without 'layer_replication'.");
        if (config.FanInFanOut)
            throw new NotSupportedException("fan_in_fan_out is for [in, out] weights (GPT-2 Conv1D); Peft.Net linear layers store [out, in].");
        var existing = PeftModelState.Find(model);
        if (existing?.Configs.ContainsKey(adapterName) == true)
            throw new ArgumentException($"The model already has an adapter named '{adapterName}'.", nameof(adapterName));

        // Find everything first, so a config that matches nothing leaves the model unchanged.
        var toSave = FindModulesToSave(model, config.ModulesToSave ?? []);
        var (targets, resolved) = LoraTargets.Resolve(model, config);
        var wrappers = toSave.Select(m => m.Module as ModulesToSaveWrapper ?? WrapForSaving(model, m.Path, m.Module)).ToList();
        if (init == LoraInit.PiSSA && targets.FirstOrDefault(t => t.Module is Embedding or LoraEmbedding or NeftuneEmbedding) is { Module: not null } embedding)
            throw new NotSupportedException(
                $"PiSSA initialisation applies to linear layers only (as in PEFT); '{embedding.Path}' is an embedding. Exclude it from target_modules.");
        var random = new TensorRandom(seed);
        foreach (var (path, module) in targets)
        {
            int rank = config.RankFor(path);
            double alpha = config.AlphaFor(path);
            if (config.LoraBias && module is not ILinearLayer)
                throw new NotSupportedException($"lora_bias applies to linear layers only (as in PEFT); '{path}' is a {module.GetType().Name}.");
            var options = new LoraAdapterOptions(rank, (float)alpha, (float)config.LoraDropout, config.UseRsLora, init, config.UseDora, config.LoraBias)
            {
                PissaNiter = init == LoraInit.PiSSA ? config.PissaNiter : null, // loading refuses pissa_niter folders (AdapterLoadInit)
            };
            var layer = module as ILoraLayer ?? Wrap(model, path, module);
            if (deferPissaRewrite && layer is LoraLinear linear) linear.AddAdapter(adapterName, options, random, rewriteBase: false);
            else layer.AddAdapter(adapterName, options, random);
        }
        foreach (var wrapper in wrappers)
            wrapper.AddAdapter(adapterName);

        var state = PeftModelState.GetOrCreate(model);
        state.Configs.Add(adapterName, resolved is null ? config : config with { TargetModules = resolved, TargetModulesRegex = null });
        state.Active ??= adapterName;
        FreezeNonAdapterParameters(model, state);
        SyncActive(model, state);
    }

    private static ILoraLayer Wrap(Module model, string path, Module module)
    {
        Module wrapper = module switch
        {
            ILinearLayer linear => new LoraLinear(linear),
            Embedding embedding => new LoraEmbedding(embedding),
            NeftuneEmbedding neftune => WrapNeftuneEmbedding(neftune),
            _ => throw new ArgumentException($"Target module '{path}' is a {module.GetType().Name}, which LoRA cannot adapt."),
        };
        model.ReplaceSubmodule(path, wrapper);
        return (ILoraLayer)wrapper;
    }

    private static List<(string Path, Module Module)> FindModulesToSave(Module model, IReadOnlyList<string> names)
    {
        if (names.Count == 0) return [];
        var found = LoraTargets.Candidates(model).Where(c => names.Any(n => TargetRegexes.IsNameOrDottedSuffix(c.Path, n))).ToList();
        if (found.Count == 0)
            throw new ArgumentException($"modules_to_save [{string.Join(", ", names)}] matched no module of the {model.GetType().Name}.");
        foreach (var (path, module) in found)
            if (module is ILoraLayer)
                throw new ArgumentException($"modules_to_save '{path}' is already adapted by LoRA; a module cannot be both.");
        return found;
    }

    private static ModulesToSaveWrapper WrapForSaving(Module model, string path, Module module)
    {
        var wrapper = new ModulesToSaveWrapper(module, path);
        model.ReplaceSubmodule(path, wrapper);
        return wrapper;
    }

    /// <summary>The config the ApplyLora/ApplyDora parameters describe (shared with Peft.Net.TorchSharp).</summary>
    internal static LoraConfig BuildConfig(int rank, float alpha, float dropout, IEnumerable<string>? targetModules, string? targetRegex, bool useRsLora,
        LoraInit init, IReadOnlyDictionary<string, int>? rankPattern, IReadOnlyDictionary<string, float>? alphaPattern, IEnumerable<string>? modulesToSave, bool useDora)
    {
        if (targetModules is not null && targetRegex is not null)
            throw new ArgumentException("Give either targetModules or targetRegex, not both.");
        var ranks = new OrderedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (key, value) in rankPattern ?? new Dictionary<string, int>()) ranks[key] = value;
        var alphas = new OrderedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var (key, value) in alphaPattern ?? new Dictionary<string, float>()) alphas[key] = value;
        var list = targetModules?.Distinct(StringComparer.Ordinal).ToList();
        return new LoraConfig
        {
            R = rank,
            LoraAlpha = alpha,
            LoraDropout = dropout,
            TargetModules = list,
            TargetModulesRegex = list is null ? targetRegex ?? LoraConfig.AllLinear : null,
            UseRsLora = useRsLora,
            InitLoraWeights = LoraConfig.InitName(init),
            RankPattern = ranks,
            AlphaPattern = alphas,
            ModulesToSave = modulesToSave?.ToList(),
            UseDora = useDora,
        };
    }
}
