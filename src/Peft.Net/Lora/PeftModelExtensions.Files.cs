using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Microsoft.Extensions.Logging;
using Peft.Net.Lora;

namespace Peft.Net;

public static partial class PeftModelExtensions
{
    /// <summary>
    /// Writes adapter <paramref name="adapterName"/> to <paramref name="directory"/> in Hugging Face PEFT layout:
    /// <c>adapter_config.json</c> (sorted keys, indent 2, <c>inference_mode: true</c>) and
    /// <c>adapter_model.safetensors</c> (metadata <c>{"format": "pt"}</c>, keys <c>base_model.model.&lt;module&gt;.lora_A.weight</c>
    /// etc. without the adapter name, tensors in their own dtype). Both files are written atomically. Unlike PEFT's
    /// <c>save_pretrained</c>, a non-default adapter is written into <paramref name="directory"/> itself, not a subfolder.
    /// </summary>
    /// <remarks>
    /// <c>base_model_name_or_path</c> is <paramref name="baseModelNameOrPath"/> when given, else the config's own value,
    /// else the name the model was loaded from (<see cref="SetBaseModelNameOrPath"/>). Fields that PEFT added after
    /// 0.10 are written only when they hold other than their defaults, so PEFT 0.10 and later load the folder.
    /// </remarks>
    /// <param name="model">The model holding the adapter.</param>
    /// <param name="directory">The folder to write (created if needed).</param>
    /// <param name="adapterName">The adapter to save.</param>
    /// <param name="baseModelNameOrPath">The base model's Hub name or folder to record; null keeps the config's or the model's.</param>
    /// <exception cref="ArgumentException">The model has no such adapter.</exception>
    public static void SaveAdapter(this Module model, string directory, string adapterName = "default", string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var state = PeftModelState.Require(model, adapterName);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in model.StateDict())
            if (AdapterKeys.ToFileKey(key, adapterName) is { } fileKey)
                tensors[fileKey] = tensor;
        if (tensors.Count == 0)
            throw new InvalidOperationException($"Adapter '{adapterName}' has no tensors in the model (was it deleted from every layer?).");
        var config = state.Configs[adapterName];
        foreach (var (key, tensor) in BaseBiases.Select(model, config.Bias, adapterName))
            tensors[AdapterFiles.KeyPrefix + key] = tensor;
        Directory.CreateDirectory(directory);
        Safetensors.Save(Path.Combine(directory, AdapterFiles.WeightsFile), tensors, AdapterFiles.Metadata);
        config = config with { BaseModelNameOrPath = baseModelNameOrPath ?? config.BaseModelNameOrPath ?? model.BaseModelNameOrPath() };
        config.Save(Path.Combine(directory, AdapterFiles.ConfigFile));
    }

    /// <summary>
    /// Loads an adapter folder in Hugging Face PEFT layout (written by PEFT or by <see cref="SaveAdapter"/>) as adapter
    /// <paramref name="adapterName"/>: reads the config, adds the adapter's structure to the model, checks that the
    /// file's keys and shapes are exactly the adapter's (any missing or unexpected key or shape mismatch is an error
    /// listing them; the model is then left as it was), and copies the values (F16/BF16 widened to F32). The first
    /// adapter of a model becomes active.
    /// </summary>
    /// <remarks>
    /// <para>As PEFT's <c>PeftModel.from_pretrained</c>: an adapter whose <c>init_lora_weights</c> is <c>"pissa"</c>
    /// re-runs PiSSA on the base weights (they become the residual <c>W − scaling·B₀·A₀</c>; the SVD is
    /// deterministic) and loads the saved A and B; <c>"olora"</c> rewrites each adapted linear base to
    /// <c>W − scaling·Q[:, :r]·R[:r, :]</c> of its QR (deterministic too). The residual depends on the base alone, so
    /// the SVDs run on the untouched bases and the rewrite comes last, after the file is checked and copied: a folder
    /// that is refused (a key, a shape, a rank the weight's SVD or QR does not have) leaves every base weight bit for
    /// bit as it was. Initialisations that rewrite the base in a way
    /// Peft.Net cannot reproduce (<c>"loftq"</c>, <c>"pissa_niter_K"</c>, <c>"corda"</c>, <c>"lora_ga"</c>, unknown names)
    /// are refused with an error saying how to convert the adapter to plain LoRA; <c>layer_replication</c> is refused
    /// naming the field.</para>
    /// <para>Base tensors saved in the adapter file are loaded into the model, overwriting the base, as PEFT does: the
    /// embedding and head weights of <c>save_embedding_layers</c> (<c>….embed_tokens.base_layer.weight</c>,
    /// <c>….lm_head.base_layer.weight</c>) and the biases of <c>bias: "all"</c> / <c>"lora_only"</c>. <see cref="Unload"/>
    /// does not restore them. <c>lora_B.bias</c> (<c>lora_bias: true</c>) is loaded into the layers.</para>
    /// <para>Where PEFT ≤ 0.13 resolves <c>rank_pattern</c>/<c>alpha_pattern</c> keys differently from PEFT ≥ 0.14 (which
    /// Peft.Net follows) for a module of this model, a warning naming the module and both results goes to
    /// <paramref name="logger"/> (see <see cref="LoraConfig.PatternKeyDisagreements"/>).</para>
    /// </remarks>
    /// <param name="model">The base model (or a model that already has other adapters).</param>
    /// <param name="directory">The adapter folder.</param>
    /// <param name="adapterName">The name to give the adapter.</param>
    /// <param name="isTrainable">False (default): inference mode, the adapter's parameters stay frozen.</param>
    /// <param name="logger">Receives warnings (pattern keys PEFT versions resolve differently, base tensors overwritten); null: none.</param>
    /// <returns>The adapter's config.</returns>
    /// <exception cref="AdapterFormatException">The config is invalid, or the tensors do not fit the model.</exception>
    /// <exception cref="FileNotFoundException">A file of the adapter folder is missing.</exception>
    /// <exception cref="ArgumentException">The model already has an adapter of that name.</exception>
    public static LoraConfig LoadAdapter(this Module model, string directory, string adapterName = "default", bool isTrainable = false,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        string weightsPath = Path.Combine(directory, AdapterFiles.WeightsFile);
        var config = LoraConfig.Load(configPath) with { InferenceMode = !isTrainable };
        var init = AdapterLoadInit.Resolve(config, configPath);
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"{weightsPath}: adapter weights not found (only safetensors adapter weights are supported).", weightsPath);
        if (PeftModelState.Find(model)?.Configs.ContainsKey(adapterName) == true)
            throw new ArgumentException($"The model already has an adapter named '{adapterName}'.", nameof(adapterName));
        using var file = SafetensorsFile.Open(weightsPath);

        bool hadAdapters = PeftModelState.Find(model)?.Configs.Count > 0;
        CheckRankAgainstFile(config, file, configPath);
        try
        {
            AddAdapterCore(model, config, adapterName, init, seed: 0, deferPissaRewrite: true);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            RemovePartialAdapter(model, adapterName, hadAdapters);
            throw CannotApply(model, configPath, e);
        }
        try
        {
            // Everything that can refuse the folder runs before the first write: OLoRA's ranks, the file's keys and
            // shapes, PiSSA's SVDs. Then the tensors are copied and the bases rewritten (PiSSA, OLoRA).
            bool olora = OloraBaseRewrite.Applies(config);
            if (olora) OloraBaseRewrite.Check(model, adapterName, configPath);
            var (targets, overwritten) = CheckAdapterTensors(model, file, adapterName, weightsPath);
            List<PissaBaseRewrite.LayerFactors> pissa;
            try
            {
                pissa = PissaBaseRewrite.Factors(model, adapterName, overwritten);
            }
            catch (ArgumentException e)
            {
                throw CannotApply(model, configPath, e);
            }
            CopyAdapterTensors(file, targets);
            PissaBaseRewrite.Apply(pissa, adapterName);
            if (olora) OloraBaseRewrite.Apply(model, adapterName, overwritten);
            if (overwritten.Count > 0 && logger is not null)
                logger.LogInformation("{File}: loaded {Count} base tensors saved with the adapter (save_embedding_layers / bias), overwriting the base: {Keys}",
                    weightsPath, overwritten.Count, string.Join(", ", overwritten));
        }
        catch
        {
            if (hadAdapters)
            {
                model.DeleteAdapter(adapterName);
                RemoveEmptyWrappers(model);
            }
            else model.Unload();
            throw;
        }
        if (logger is not null)
            foreach (var d in config.PatternKeyDisagreements(LoraLayers(model).Where(l => l.Layer.AdapterNames.Contains(adapterName)).Select(l => l.Path)))
                logger.LogWarning("{File}: {Disagreement}", configPath, d.ToString());
        return config;
    }

    /// <summary>
    /// Rejects, before anything is allocated, a config whose rank <c>r</c> no lora_A tensor of the file has (when no
    /// rank_pattern is given every adapted module has rank r): a corrupt or hostile r such as 10⁸ would otherwise make
    /// the model allocate gigabytes of adapter matrices only to find that they do not match the file.
    /// </summary>
    private static void CheckRankAgainstFile(LoraConfig config, SafetensorsFile file, string configPath)
    {
        if (config.RankPattern.Count > 0) return;
        var fileRanks = file.Entries
            .Where(e => e.Shape.Length == 2 && (e.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || e.Name.EndsWith(".lora_embedding_A", StringComparison.Ordinal)))
            .Select(e => e.Shape[0]).Distinct().Order().ToList();
        if (fileRanks.Count > 0 && !fileRanks.Contains(config.R))
            throw new AdapterFormatException(configPath,
                $"'r' is {config.R} but the adapter weights have rank {string.Join(", ", fileRanks)} (lora_A rows)");
    }

    /// <summary>Undoes an <see cref="AddAdapterCore"/> that failed half-way: removes the adapter from every layer that got it and unwraps empty layers.</summary>
    private static void RemovePartialAdapter(Module model, string adapterName, bool hadAdapters)
    {
        foreach (var (_, module) in LoraTargets.Candidates(model))
        {
            if (module is ILoraLayer layer && layer.AdapterNames.Contains(adapterName)) layer.DeleteAdapter(adapterName);
            else if (module is ModulesToSaveWrapper wrapper && wrapper.AdapterNames.Contains(adapterName)) wrapper.DeleteAdapter(adapterName);
        }
        RemoveEmptyWrappers(model);
        if (!hadAdapters && PeftModelState.Find(model) is { Configs.Count: 0 })
            model.Unload();
    }

    /// <summary>Puts back the base module of every LoRA layer and modules_to_save wrapper that has no adapter left.</summary>
    private static void RemoveEmptyWrappers(Module model)
    {
        foreach (var (path, module) in LoraTargets.Candidates(model))
        {
            if (module is ILoraLayer { AdapterNames.Count: 0 } layer) model.ReplaceSubmodule(path, BaseForUnload(layer));
            else if (module is ModulesToSaveWrapper { AdapterNames.Count: 0 } wrapper) model.ReplaceSubmodule(path, wrapper.OriginalModule);
        }
    }

    private static AdapterFormatException CannotApply(Module model, string configPath, Exception e) =>
        new(configPath, $"cannot apply this adapter to the {model.GetType().Name}: {e.Message}", e);

    /// <summary>
    /// The model's tensors to copy the file's into, by file key (the adapter's, and base tensors saved with it), once the
    /// file's keys, shapes and dtypes are exactly theirs; and the base tensors' file keys.
    /// </summary>
    private static (Dictionary<string, Tensor> Targets, List<string> BaseTensors) CheckAdapterTensors(Module model, SafetensorsFile file, string adapterName, string weightsPath)
    {
        var expected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var state = model.StateDict();
        foreach (var (key, tensor) in state)
            if (AdapterKeys.ToFileKey(key, adapterName) is { } fileKey)
                expected[fileKey] = tensor;
        var baseTensors = new List<string>();
        var nonFloatBase = new List<string>();
        foreach (var entry in file.Entries)
        {
            if (expected.ContainsKey(entry.Name) || AdapterKeys.BaseTensorKey(entry.Name, state.ContainsKey) is not { } modelKey) continue;
            var target = state[modelKey];
            if (target.DType is not (DType.F32 or DType.F16 or DType.BF16)) { nonFloatBase.Add($"{entry.Name} (model {target.DType})"); continue; }
            expected[entry.Name] = target;
            baseTensors.Add(entry.Name);
        }
        var missing = expected.Keys.Where(k => !file.Contains(k)).ToList();
        var unexpected = file.Entries.Select(e => e.Name).Where(k => !expected.ContainsKey(k))
            .Select(k => k.Contains(".lora_B.bias", StringComparison.Ordinal) ? k + " (lora_bias: true in the tensors but not in adapter_config.json)" : k).ToList();
        unexpected.AddRange(nonFloatBase.Select(k => k + " (a base tensor the model stores quantized; it cannot be overwritten)"));
        var mismatched = file.Entries
            .Where(e => expected.TryGetValue(e.Name, out var t) && !e.Shape.SequenceEqual(t.Shape))
            .Select(e => $"{e.Name}: file [{string.Join(", ", e.ShapeArray())}] vs model [{string.Join(", ", expected[e.Name].ShapeArray())}]")
            .ToList();
        var unsupported = file.Entries.Where(e => expected.ContainsKey(e.Name) && !(e.IsSupported && e.DType.IsFloatingPoint()))
            .Select(e => $"{e.Name} ({e.DTypeName})").ToList();
        AdapterFit.ThrowIfProblems(weightsPath, adapterName, missing, unexpected, mismatched, unsupported);
        return (expected, baseTensors);
    }

    /// <summary>Copies the file's tensors into the model's (F16/BF16 targets get the float32 values rounded).</summary>
    private static void CopyAdapterTensors(SafetensorsFile file, Dictionary<string, Tensor> targets)
    {
        using var _ = Tensor.NoGrad();
        foreach (var (fileKey, target) in targets)
        {
            var source = file.ReadTensorAsFloat32(fileKey).To(target.DType);
            Array.Copy(source.Storage, source.Offset, target.Storage, target.Offset, source.Count);
        }
    }
}
