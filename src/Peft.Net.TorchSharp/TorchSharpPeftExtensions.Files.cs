using Peft.Net.Adapters;
using static Peft.Net.Core.DTypeInfo;
using Peft.Net.Core.IO;
using Peft.Net.Lora;
using TorchSharp;
using EngineTensor = Peft.Net.Core.Tensor;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

public static partial class TorchSharpPeftExtensions
{
    /// <summary>
    /// Writes adapter <paramref name="adapterName"/> to <paramref name="directory"/> in Hugging Face PEFT layout with the
    /// engine's writers, so the same adapter gives byte-for-byte the same folder: <c>adapter_config.json</c> (sorted keys,
    /// indent 2, <c>inference_mode: true</c>) and <c>adapter_model.safetensors</c> (<c>base_model.model.…lora_A.weight</c>
    /// keys without the adapter name). Both files are written atomically.
    /// </summary>
    /// <param name="model">The model holding the adapter.</param>
    /// <param name="directory">The folder to write.</param>
    /// <param name="adapterName">The adapter to write.</param>
    /// <param name="baseModelNameOrPath">The base model's Hub name or folder to record as <c>base_model_name_or_path</c>
    /// (a TorchSharp model has no name of its own); null keeps the config's value.</param>
    /// <exception cref="ArgumentException">The model has no such adapter.</exception>
    public static void SaveAdapter(this nn.Module model, string directory, string adapterName = "default", string? baseModelNameOrPath = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var state = TorchPeftState.Require(model, adapterName);
        var tensors = new Dictionary<string, EngineTensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in model.state_dict())
            if (AdapterKeys.ToFileKey(key, adapterName) is { } fileKey)
                tensors[fileKey] = TensorBridge.ToEngine(tensor);
        if (tensors.Count == 0)
            throw new InvalidOperationException($"Adapter '{adapterName}' has no tensors in the model (was it deleted from every layer?).");
        Directory.CreateDirectory(directory);
        Safetensors.Save(Path.Combine(directory, AdapterFiles.WeightsFile), tensors, AdapterFiles.Metadata);
        var config = state.Configs[adapterName];
        (config with { BaseModelNameOrPath = baseModelNameOrPath ?? config.BaseModelNameOrPath }).Save(Path.Combine(directory, AdapterFiles.ConfigFile));
    }

    /// <summary>
    /// Loads an adapter folder in Hugging Face PEFT layout (written by PEFT, by the engine or by <see cref="SaveAdapter"/>):
    /// applies the folder's config as adapter <paramref name="adapterName"/> (PEFT's <c>PeftModel.from_pretrained</c>
    /// when the model has no adapter yet), checks that the file's keys and shapes are exactly the adapter's (any
    /// missing or unexpected key or shape mismatch is an error listing them, and the model is left as it was), and
    /// copies the values.
    /// </summary>
    /// <remarks>
    /// A <c>"pissa"</c> folder rewrites each adapted base to PiSSA's residual <c>W − scaling·B₀·A₀</c> of its SVD, as
    /// PEFT's <c>from_pretrained</c> does; the SVDs run on the untouched bases and the rewrite comes last, after the
    /// file's tensors are checked and copied, so a folder that is refused (a key, a shape, a rank its weight's SVD does
    /// not have) leaves every base weight bit for bit as it was.
    /// </remarks>
    /// <param name="model">The base model (or a model that already has other adapters).</param>
    /// <param name="directory">The adapter folder.</param>
    /// <param name="adapterName">The name to give the adapter.</param>
    /// <param name="isTrainable">False (default): the adapter's parameters stay frozen.</param>
    /// <returns>The adapter's config.</returns>
    /// <exception cref="AdapterFormatException">The config is invalid, or the tensors do not fit the model.</exception>
    /// <exception cref="FileNotFoundException">A file of the adapter folder is missing.</exception>
    public static LoraConfig LoadAdapter(this nn.Module model, string directory, string adapterName = "default", bool isTrainable = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(directory);
        string configPath = Path.Combine(directory, AdapterFiles.ConfigFile);
        string weightsPath = Path.Combine(directory, AdapterFiles.WeightsFile);
        var config = LoraConfig.Load(configPath) with { InferenceMode = !isTrainable };
        // An init that rewrites the base in a way that cannot be reproduced here ("pissa_niter_K", "olora", …) is
        // refused with how to convert it, as the engine does; "pissa" is re-run on the base (PEFT's from_pretrained).
        AdapterLoadInit.Resolve(config, configPath);
        if (!File.Exists(weightsPath))
            throw new FileNotFoundException($"{weightsPath}: adapter weights not found (only safetensors adapter weights are supported).", weightsPath);
        if (TorchPeftState.Find(model)?.Configs.ContainsKey(adapterName) == true)
            throw new ArgumentException($"The model already has an adapter named '{adapterName}'.", nameof(adapterName));
        using var file = SafetensorsFile.Open(weightsPath);
        bool hadAdapters = TorchPeftState.Find(model)?.Configs.Count > 0;
        try
        {
            AddAdapterCore(model, config, adapterName, seed: 0, deferPissaRewrite: true);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or InvalidOperationException)
        {
            RemoveAdapter(model, adapterName, hadAdapters);
            throw CannotApply(model, configPath, e);
        }
        try
        {
            // Everything that can refuse the folder runs before the first write: the file's keys and shapes, then the SVDs.
            var targets = CheckAdapterTensors(model, file, adapterName, weightsPath);
            List<PissaBaseRewrite.LayerFactors> pissa;
            try
            {
                pissa = PissaBaseRewrite.Factors(model, adapterName);
            }
            catch (ArgumentException e)
            {
                throw CannotApply(model, configPath, e);
            }
            CopyAdapterTensors(file, targets);
            PissaBaseRewrite.Apply(pissa, adapterName);
        }
        catch
        {
            RemoveAdapter(model, adapterName, hadAdapters);
            throw;
        }
        if (isTrainable) model.SetAdapter(TorchPeftState.Find(model)!.Active!);
        else foreach (var p in model.parameters()) p.requires_grad = false;
        return config;
    }

    /// <summary>Removes an adapter from every layer, unwraps layers left empty, and forgets it.</summary>
    private static void RemoveAdapter(nn.Module model, string adapterName, bool hadAdapters)
    {
        if (!hadAdapters)
        {
            model.Unload();
            return;
        }
        foreach (var (path, module) in TorchTargets.Candidates(model))
        {
            if (module is ILoraModule layer && layer.AdapterNames.Contains(adapterName))
            {
                layer.DeleteAdapter(adapterName);
                if (layer.AdapterNames.Count == 0) ModuleTree.Replace(model, path, layer.BaseLayer);
            }
        }
        if (TorchPeftState.Find(model) is { } state && state.Configs.Remove(adapterName) && state.Active == adapterName)
            state.Active = state.Configs.Keys.FirstOrDefault();
    }

    private static AdapterFormatException CannotApply(nn.Module model, string configPath, Exception e) =>
        new(configPath, $"cannot apply this adapter to the {model.GetType().Name}: {e.Message}", e);

    /// <summary>The model's tensors of the adapter by file key, once the file's keys, shapes and dtypes are exactly theirs.</summary>
    private static Dictionary<string, Tensor> CheckAdapterTensors(nn.Module model, SafetensorsFile file, string adapterName, string weightsPath)
    {
        var expected = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in model.state_dict())
            if (AdapterKeys.ToFileKey(key, adapterName) is { } fileKey)
                expected[fileKey] = tensor;
        var missing = expected.Keys.Where(k => !file.Contains(k)).ToList();
        var unexpected = file.Entries.Select(e => e.Name).Where(k => !expected.ContainsKey(k)).ToList();
        var mismatched = file.Entries
            .Where(e => expected.TryGetValue(e.Name, out var t) && !e.Shape.ToArray().Select(d => (long)d).SequenceEqual(t.shape))
            .Select(e => $"{e.Name}: file [{string.Join(", ", e.ShapeArray())}] vs model [{string.Join(", ", expected[e.Name].shape)}]")
            .ToList();
        var unsupported = file.Entries.Where(e => expected.ContainsKey(e.Name) && !(e.IsSupported && e.DType.IsFloatingPoint()))
            .Select(e => $"{e.Name} ({e.DTypeName})").ToList();
        AdapterFit.ThrowIfProblems(weightsPath, adapterName, missing, unexpected, mismatched, unsupported);
        return expected;
    }

    private static void CopyAdapterTensors(SafetensorsFile file, Dictionary<string, Tensor> expected)
    {
        using var _ = torch.no_grad();
        foreach (var (fileKey, target) in expected)
        {
            using var source = TensorBridge.FromEngine(file.ReadTensorAsFloat32(fileKey));
            target.copy_(source);
        }
    }
}
