using Peft.Net.Adapters;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Lora;

namespace Peft.Net.Cli.Commands.Merge;

/// <summary>
/// What <c>peft merge</c> does to each base tensor, checked in full before anything is written: adapted weights get
/// PEFT's merge formula, <c>lora_B.bias</c> adds to the base bias, whole tensors saved by the adapter
/// (modules_to_save, save_embedding_layers' <c>….base_layer.weight</c>, bias "all"/"lora_only") replace the base tensor
/// before any adapter delta is added to it (as PEFT loads them into the base first); everything else is copied byte
/// for byte. A saved <c>lm_head.weight</c> for a base whose head is tied to the input embedding (no
/// <c>lm_head.weight</c> in the checkpoint, e.g. Qwen2) becomes a new tensor, and the head is then untied.
/// </summary>
internal sealed class MergePlan : IDisposable
{
    private readonly SafetensorsFile _adapter;
    private readonly LoraConfig _config;
    private readonly Dictionary<string, Func<Tensor, Tensor>> _actions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _replaced = new(StringComparer.Ordinal);
    private readonly List<AddedTensor> _added = [];

    /// <summary>A tensor the merged model has and the base has not (an untied head), written in the shard of <paramref name="Partner"/>.</summary>
    public sealed record AddedTensor(string Name, SafetensorsEntry Partner, Func<Tensor> Value);

    /// <summary>Tensors to add to the merged model; non-empty means the head was untied (config.json gets <c>tie_word_embeddings: false</c>).</summary>
    public IReadOnlyList<AddedTensor> Added => _added;

    private MergePlan(SafetensorsFile adapter, LoraConfig config)
    {
        _adapter = adapter;
        _config = config;
    }

    /// <summary>Number of adapted modules.</summary>
    public int Modules { get; private set; }

    /// <summary>True when the base tensor <paramref name="name"/> changes.</summary>
    public bool Changes(string name) => _actions.ContainsKey(name);

    /// <summary>The merged value of base tensor <paramref name="name"/> in the base dtype.</summary>
    public Tensor Apply(string name, Tensor baseTensor) => _actions[name](baseTensor).To(baseTensor.DType);

    /// <exception cref="CliUserException">The adapter does not fit the base (missing tensor, wrong shape, non-float base weight, rank differing from the config).</exception>
    public static MergePlan Create(string adapterFolder, IReadOnlyDictionary<string, SafetensorsEntry> baseEntries, string basePath)
    {
        string configPath = Path.Combine(adapterFolder, AdapterFiles.ConfigFile);
        string weightsPath = Path.Combine(adapterFolder, AdapterFiles.WeightsFile);
        if (!Directory.Exists(adapterFolder))
            throw new CliUserException($"{adapterFolder}: no such adapter folder");
        if (!File.Exists(configPath))
            throw new CliUserException($"{configPath}: missing (--adapter must be a PEFT adapter folder)");
        if (!File.Exists(weightsPath))
            throw new CliUserException($"{weightsPath}: missing (only safetensors adapter weights are supported)");
        var config = LoraConfig.Load(configPath);
        try
        {
            AdapterInitialBase.Check(config, configPath);   // LoftQ & co.: refused with how to convert, as LoadAdapter does
        }
        catch (AdapterFormatException e)
        {
            throw new CliUserException(e.Message, e);
        }
        var adapter = SafetensorsFile.Open(weightsPath);
        var plan = new MergePlan(adapter, config);
        try
        {
            plan.Build(weightsPath, baseEntries, basePath);
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    private void Build(string weightsPath, IReadOnlyDictionary<string, SafetensorsEntry> baseEntries, string basePath)
    {
        var layout = AdapterKeys.Group(_adapter.Entries.Select(e => e.Name), weightsPath);
        if (layout.Modules.Count == 0 && layout.FullTensors.Count == 0)
            throw new CliUserException($"{weightsPath}: no adapter tensors");
        if (_config.ExtraFields.TryGetValue("layer_replication", out var replication) && replication is not null)
            throw new CliUserException($"{Path.Combine(Path.GetDirectoryName(weightsPath)!, AdapterFiles.ConfigFile)}: 'layer_replication' " +
                $"{replication.ToJsonString()} is not supported (the merged model would need duplicated layers); merge it with PEFT in Python");
        // Whole tensors first: PEFT loads them into the base, then merges the adapter deltas on top.
        foreach (var (fileKey, baseName) in layout.FullTensors)
        {
            var saved = _adapter.GetEntry(fileKey);
            if (!baseEntries.ContainsKey(baseName) && TiedHeadPartner(baseName, saved, baseEntries) is { } partner)
            {
                string key = fileKey;
                _added.Add(new AddedTensor(baseName, partner, () => _adapter.ReadTensorAsFloat32(key).To(partner.DType)));
                continue;
            }
            var entry = BaseEntry(baseEntries, baseName, fileKey, weightsPath, basePath);
            if (!saved.Shape.SequenceEqual(entry.Shape))
                throw new CliUserException($"{weightsPath}: tensor '{fileKey}' has shape {Shape(saved.Shape)} but base tensor '{baseName}' has {Shape(entry.Shape)}");
            RequireFloat(entry, basePath);
            Add(baseName, _ => _adapter.ReadTensorAsFloat32(fileKey), weightsPath);
            _replaced.Add(baseName);
        }
        foreach (var module in layout.Modules)
            AddModule(module, weightsPath, baseEntries, basePath);
        Modules = layout.Modules.Count;
    }

    private void AddModule(AdapterModuleWeights module, string weightsPath, IReadOnlyDictionary<string, SafetensorsEntry> baseEntries, string basePath)
    {
        string weightName = module.ModulePath + ".weight";
        var weight = BaseEntry(baseEntries, weightName, module.KeyA, weightsPath, basePath);
        RequireFloat(weight, basePath);
        var a = _adapter.GetEntry(module.KeyA);
        var b = _adapter.GetEntry(module.KeyB);
        var magnitude = module.MagnitudeKey is null ? null : _adapter.GetEntry(module.MagnitudeKey);
        bool embedding = module.Kind == AdapterModuleKind.Embedding;
        bool fifo = _config.FanInFanOut && !embedding;
        // Expected: linear W [out, in] (fifo [in, out]), A [r, in], B [out, r], m [out]; embedding W [V, C], A [r, V], B [C, r], m [C].
        bool fits = weight.Shape.Length == 2 && a.Shape.Length == 2 && b.Shape.Length == 2 && a.Shape[0] == b.Shape[1];
        if (fits)
        {
            int rows = b.Shape[0], cols = a.Shape[1];   // rows: out (or C); cols: in (or V)
            fits = embedding ? weight.Shape[0] == cols && weight.Shape[1] == rows
                : fifo ? weight.Shape[0] == cols && weight.Shape[1] == rows
                : weight.Shape[0] == rows && weight.Shape[1] == cols;
            fits &= magnitude is null || (magnitude.Shape.Length == 1 && magnitude.Shape[0] == rows);
        }
        if (!fits)
            throw new CliUserException($"{weightsPath}: module '{module.ModulePath}': A {Shape(a.Shape)}, B {Shape(b.Shape)}" +
                (magnitude is null ? "" : $", magnitude {Shape(magnitude.Shape)}") + $" do not fit base tensor '{weightName}' {Shape(weight.Shape)}");
        int rank = a.Shape[0];
        int configRank = _config.RankFor(module.ModulePath);
        if (rank != configRank)
            throw new CliUserException($"{weightsPath}: module '{module.ModulePath}' has rank {rank} but {AdapterFiles.ConfigFile} gives r = {configRank} (r / rank_pattern)");
        float scaling = _config.ScalingFor(rank, _config.AlphaFor(module.ModulePath));
        string keyA = module.KeyA, keyB = module.KeyB;
        string? keyM = module.MagnitudeKey;
        // PiSSA / OLoRA: PEFT re-runs the initialisation on the base before loading A and B; a base tensor the file
        // replaces (save_embedding_layers) is loaded after that rewrite, so it is used as saved.
        bool rewrite = !embedding && AdapterInitialBase.RewritesBase(_config) && !_replaced.Contains(weightName);
        if (rewrite && fifo)
            throw new CliUserException($"{weightsPath}: init_lora_weights \"{_config.InitLoraWeights}\" with fan_in_fan_out is not supported");
        if (rewrite && rank > Math.Min(weight.Shape[0], weight.Shape[1]))
            throw new CliUserException($"{weightsPath}: module '{module.ModulePath}' has rank {rank}, more than its {Shape(weight.Shape)} weight gives to init_lora_weights \"{_config.InitLoraWeights}\"");
        string modulePath = module.ModulePath;
        Add(weightName, w =>
        {
            if (rewrite) w = AdapterInitialBase.Linear(w, _config, modulePath);
            var loraA = _adapter.ReadTensorAsFloat32(keyA);
            var loraB = _adapter.ReadTensorAsFloat32(keyB);
            var m = keyM is null ? null : _adapter.ReadTensorAsFloat32(keyM);
            return embedding ? AdapterMerge.MergeEmbedding(w, loraA, loraB, scaling, m) : AdapterMerge.MergeLinear(w, loraA, loraB, scaling, m, fifo);
        }, weightsPath);
        if (module.LoraBiasKey is { } biasKey)
        {
            string biasName = module.ModulePath + ".bias";
            var bias = BaseEntry(baseEntries, biasName, biasKey, weightsPath, basePath);
            RequireFloat(bias, basePath);
            var loraBias = _adapter.GetEntry(biasKey);
            if (!loraBias.Shape.SequenceEqual(bias.Shape))
                throw new CliUserException($"{weightsPath}: tensor '{biasKey}' has shape {Shape(loraBias.Shape)} but base tensor '{biasName}' has {Shape(bias.Shape)}");
            Add(biasName, baseBias =>
            {
                var result = baseBias.To(DType.F32).Clone();
                var add = _adapter.ReadTensorAsFloat32(biasKey).AsSpan();
                var span = result.AsSpan();
                for (int i = 0; i < span.Length; i++) span[i] += scaling * add[i];
                return result;
            }, weightsPath);
        }
    }

    private void Add(string baseName, Func<Tensor, Tensor> action, string weightsPath)
    {
        if (_replaced.Remove(baseName))
        {
            var replacement = _actions[baseName];
            _actions[baseName] = w => action(replacement(w));
            return;
        }
        if (!_actions.TryAdd(baseName, action))
            throw new CliUserException($"{weightsPath}: base tensor '{baseName}' is changed by two adapter entries");
    }

    /// <summary>
    /// The input embedding a missing <c>lm_head.weight</c> is tied to: the base has no head tensor, and
    /// <c>model.embed_tokens.weight</c> (or another <c>*embed_tokens.weight</c>) has the saved head's shape.
    /// </summary>
    private static SafetensorsEntry? TiedHeadPartner(string baseName, SafetensorsEntry saved, IReadOnlyDictionary<string, SafetensorsEntry> baseEntries)
    {
        if (baseName != "lm_head.weight") return null;
        return baseEntries.Values.FirstOrDefault(e => e.Name.EndsWith("embed_tokens.weight", StringComparison.Ordinal) && e.Shape.SequenceEqual(saved.Shape));
    }

    private static SafetensorsEntry BaseEntry(IReadOnlyDictionary<string, SafetensorsEntry> baseEntries, string name, string adapterKey, string weightsPath, string basePath) =>
        baseEntries.TryGetValue(name, out var entry)
            ? entry
            : throw new CliUserException($"{weightsPath}: tensor '{adapterKey}' needs base tensor '{name}', which {basePath} does not have");

    private static void RequireFloat(SafetensorsEntry entry, string basePath)
    {
        if (!entry.IsSupported || !entry.DType.IsFloatingPoint())
            throw new CliUserException($"{basePath}: base tensor '{entry.Name}' is {entry.DTypeName}; merging needs F32, F16 or BF16 weights (dequantize a 4-bit model first)");
    }

    private static string Shape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public void Dispose() => _adapter.Dispose();
}
