using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Models;

/// <summary>Hugging Face checkpoint folders ↔ <see cref="LlamaForCausalLM"/>.</summary>
internal static class LlamaCheckpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";
    public const string IndexFile = "model.safetensors.index.json";

    /// <summary>Most problems listed in one error message.</summary>
    private const int ListedProblems = 20;

    public static LlamaForCausalLM Load(string directory, DType? dtype, FourBitQuantization? quantization)
    {
        quantization?.Validate();
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: the model folder does not exist.");
        if (dtype is { } requested && !requested.IsFloatingPoint())
            throw new ArgumentException($"A model can be loaded as F32, F16 or BF16, not {requested}.", nameof(dtype));
        var config = LlamaConfig.Load(Path.Combine(directory, ConfigFile));
        var files = OpenWeightFiles(directory);
        try
        {
            var expected = ExpectedTensors(config);
            var located = Locate(files, directory);
            var quantized = ReadQuantized(expected, located);
            CheckTensors(expected, located);
            // Norm weights and biases are F32 (the kernels compute in F32); matrices keep or take the asked dtype.
            // Each tensor's mapped pages are released once it is copied or quantized, so the peak stays near the model.
            var model = new LlamaForCausalLM(config, new LoadedLlamaParameters(
                name => ReadAs(located[name].File, name, expected[name].Length == 1 ? DType.F32 : dtype), quantized,
                quantization is null ? null : (layer, outFeatures) => QuantizeOnLoad(located, layer, outFeatures, config, dtype, quantization)));
            model.Eval();
            return model;
        }
        finally
        {
            foreach (var file in files) file.Dispose();
        }
    }

    /// <summary>
    /// The tensors (name → shape) of a checkpoint of <paramref name="config"/>, in the model's declaration order;
    /// lm_head.weight only when untied.
    /// </summary>
    internal static OrderedDictionary<string, int[]> ExpectedTensors(LlamaConfig config)
    {
        int c = config.HiddenSize, f = config.IntermediateSize, v = config.VocabSize;
        int q = config.NumAttentionHeads * config.ResolvedHeadDim, kv = config.KeyValueHeads * config.ResolvedHeadDim;
        var expected = new OrderedDictionary<string, int[]>(StringComparer.Ordinal) { ["model.embed_tokens.weight"] = [v, c] };
        int d = config.ResolvedHeadDim;
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string layer = $"model.layers.{i}.";
            expected.Add(layer + "input_layernorm.weight", [c]);
            var attention = config.HasFusedProjections
                ? new[] { ("self_attn.qkv_proj", q + 2 * kv, c, config.QkvBias), ("self_attn.o_proj", c, q, config.OutputProjectionBias) }
                : new[]
                {
                    ("self_attn.q_proj", q, c, config.QkvBias), ("self_attn.k_proj", kv, c, config.QkvBias),
                    ("self_attn.v_proj", kv, c, config.QkvBias), ("self_attn.o_proj", c, q, config.OutputProjectionBias),
                };
            foreach (var (name, rows, columns, bias) in attention)
            {
                expected.Add(layer + name + ".weight", [rows, columns]);
                if (bias) expected.Add(layer + name + ".bias", [rows]);
            }
            if (config.HasQkNorm)
            {
                expected.Add(layer + "self_attn.q_norm.weight", [d]);
                expected.Add(layer + "self_attn.k_norm.weight", [d]);
            }
            expected.Add(layer + "post_attention_layernorm.weight", [c]);
            if (config.IsGemma) expected.Add(layer + "pre_feedforward_layernorm.weight", [c]);
            var mlp = config.HasFusedProjections
                ? new[] { ("mlp.gate_up_proj", 2 * f, c), ("mlp.down_proj", c, f) }
                : new[] { ("mlp.gate_proj", f, c), ("mlp.up_proj", f, c), ("mlp.down_proj", c, f) };
            foreach (var (name, rows, columns) in mlp)
            {
                expected.Add(layer + name + ".weight", [rows, columns]);
                if (config.MlpBias) expected.Add(layer + name + ".bias", [rows]);
            }
            if (config.IsGemma) expected.Add(layer + "post_feedforward_layernorm.weight", [c]);
        }
        expected.Add("model.norm.weight", [c]);
        if (!config.TieWordEmbeddings) expected.Add("lm_head.weight", [v, c]);
        return expected;
    }

    internal static List<SafetensorsFile> OpenWeightFiles(string directory)
    {
        string single = Path.Combine(directory, WeightsFile), index = Path.Combine(directory, IndexFile);
        var files = new List<SafetensorsFile>();
        try
        {
            if (File.Exists(single))
                files.Add(SafetensorsFile.Open(single));
            else if (File.Exists(index))
                foreach (string shard in ShardNames(index))
                {
                    string path = Path.Combine(directory, shard);
                    if (!File.Exists(path))
                        throw new FileNotFoundException($"{index} lists the shard '{shard}', which does not exist in {directory}.", path);
                    files.Add(SafetensorsFile.Open(path));
                }
            else
                throw new FileNotFoundException(
                    $"{directory}: no {WeightsFile} or {IndexFile}" +
                    (Directory.EnumerateFiles(directory, "*.bin").Any() ? " (PyTorch .bin checkpoints are not supported; convert them to safetensors)." : "."),
                    single);
            return files;
        }
        catch
        {
            foreach (var file in files) file.Dispose();
            throw;
        }
    }

    /// <summary>The distinct shard file names of an index's weight_map, in order of first appearance.</summary>
    private static List<string> ShardNames(string indexPath)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!document.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{indexPath}: missing the 'weight_map' object.");
            var names = new List<string>();
            foreach (var entry in map.EnumerateObject())
            {
                string shard = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : throw new InvalidDataException(
                    $"{indexPath}: weight_map entry '{entry.Name}' must be a file name.");
                if (shard != Path.GetFileName(shard))
                    throw new InvalidDataException($"{indexPath}: weight_map entry '{entry.Name}' names '{shard}', which is not a file in the folder.");
                if (!names.Contains(shard)) names.Add(shard);
            }
            return names;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{indexPath}: not valid JSON ({e.Message}).", e);
        }
    }

    private static Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> Locate(List<SafetensorsFile> files, string directory)
    {
        var located = new Dictionary<string, (SafetensorsFile, SafetensorsEntry)>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var entry in file.Entries)
                if (!located.TryAdd(entry.Name, (file, entry)))
                    throw new InvalidDataException(
                        $"{directory}: tensor '{entry.Name}' is in both {Path.GetFileName(located[entry.Name].Item1.FilePath)} and {Path.GetFileName(file.FilePath)}.");
        return located;
    }

    /// <summary>
    /// Weights saved by transformers + bitsandbytes in 4-bit (a <c>.quant_state.bitsandbytes__nf4/fp4</c> key beside
    /// them): read as <see cref="QuantizedTensor"/>s, checked against the config's shapes, and taken out of
    /// <paramref name="expected"/> and <paramref name="located"/> together with their parts (absmax, maps, state).
    /// </summary>
    private static Dictionary<string, QuantizedTensor> ReadQuantized(OrderedDictionary<string, int[]> expected,
        Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> located)
    {
        var quantized = new Dictionary<string, QuantizedTensor>(StringComparer.Ordinal);
        foreach (string name in Bnb4BitSerializer.FindQuantizedTensors(located.Keys.ToList()))
        {
            if (!located.TryGetValue(name, out var found))
                throw new InvalidDataException($"The checkpoint has a 4-bit quant_state for '{name}' but no tensor '{name}'.");
            string where = $"{Path.GetFileName(found.File.FilePath)}: tensor '{name}'";
            if (!expected.TryGetValue(name, out var shape))
                throw new InvalidDataException($"{where} is quantized but the model has no such weight.");
            var weight = Bnb4BitSerializer.Read(found.File, name);
            if (!weight.Shape.AsSpan().SequenceEqual(shape))
                throw new InvalidDataException($"{where} is a 4-bit weight of shape {Shape(weight.Shape)}, the config needs {Shape(shape)}.");
            quantized[name] = weight;
            expected.Remove(name);
            foreach (string key in located.Keys.Where(k => k == name || k.StartsWith(name + ".", StringComparison.Ordinal)).ToList())
                located.Remove(key);
        }
        return quantized;
    }

    /// <summary>Every missing, unexpected, mis-shaped or non-floating tensor, listed in one exception.</summary>
    private static void CheckTensors(OrderedDictionary<string, int[]> expected, Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> located)
    {
        var problems = new List<string>();
        foreach (var (name, shape) in expected)
        {
            if (!located.TryGetValue(name, out var found))
            {
                problems.Add($"missing tensor '{name}' {Shape(shape)}");
                continue;
            }
            string where = $"{Path.GetFileName(found.File.FilePath)}: tensor '{name}'";
            if (!found.Entry.Shape.SequenceEqual(shape))
                problems.Add($"{where} has shape {Shape(found.Entry.Shape)}, the config needs {Shape(shape)}");
            else if (!found.Entry.IsSupported || !found.Entry.DType.IsFloatingPoint())
                problems.Add($"{where} is {found.Entry.DTypeName}; weights must be F32, F16 or BF16");
        }
        foreach (var (name, found) in located)
            if (!expected.ContainsKey(name) && !IsIgnorable(name))
                problems.Add($"{Path.GetFileName(found.File.FilePath)}: unexpected tensor '{name}'");
        if (problems.Count == 0) return;
        string listed = string.Join("; ", problems.Take(ListedProblems)) + (problems.Count > ListedProblems ? $"; and {problems.Count - ListedProblems} more" : "");
        throw new InvalidDataException($"The checkpoint does not match the config ({problems.Count} problems): {listed}.");
    }

    /// <summary>Tensors HF checkpoints may carry that the model rebuilds itself: the tied head, old rotary buffers.</summary>
    private static bool IsIgnorable(string name) => name == "lm_head.weight" || name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    private static Tensor ReadAs(SafetensorsFile file, string name, DType? dtype)
    {
        var tensor = file.ReadTensorReleasingPages(name, asFloat32: dtype == DType.F32);
        return dtype is { } wanted && wanted != tensor.DType ? tensor.To(wanted) : tensor;
    }

    /// <summary>QLoRA's base: every Linear but lm_head becomes an <see cref="Nf4Linear"/> (NF4, blocksize 64, double quantization).</summary>
    internal static void QuantizeLinearLayers(LlamaForCausalLM model) => model.QuantizeNf4(FourBitQuantization.QLoRA);

    /// <summary>
    /// The 4-bit weight of linear layer <paramref name="layer"/> quantized straight from the file (chunk by chunk, no
    /// 16-bit copy), or null when the layer stays as it is: the output head (lm_head, or any layer with vocabulary-many
    /// outputs, as <see cref="Nf4ModelExtensions.QuantizeNf4(Core.Nn.Module, FourBitQuantization)"/>) and the skipped layers.
    /// </summary>
    private static QuantizedTensor? QuantizeOnLoad(Dictionary<string, (SafetensorsFile File, SafetensorsEntry Entry)> located, string layer,
        int outFeatures, LlamaConfig config, DType? dtype, FourBitQuantization quantization)
    {
        if (layer == "lm_head" || outFeatures == config.VocabSize || quantization.Skips(layer))
            return null;
        string name = layer + ".weight";
        return Nf4Quantizer.Quantize(located[name].File, name, quantization.QuantType, quantization.BlockSize, quantization.DoubleQuant, dtype);
    }

    private static string Shape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static void Save(LlamaForCausalLM model, string directory, DType? dtype)
    {
        var state = model.StateDict();
        var expected = ExpectedTensors(model.Config);
        var extra = state.Keys.Where(k => !expected.ContainsKey(k) && k != "lm_head.weight").ToList();
        if (extra.Count > 0)
            throw new InvalidOperationException(
                $"SavePretrained writes the plain {model.Config.ModelType} architecture, but the model also holds [{string.Join(", ", extra.Take(ListedProblems))}]: merge or remove adapters and dequantize 4-bit layers first.");
        var missing = expected.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"SavePretrained: the model lacks [{string.Join(", ", missing.Take(ListedProblems))}] (quantized or replaced layers): merge adapters and dequantize first.");
        var target = dtype ?? state["model.embed_tokens.weight"].DType;
        if (!target.IsFloatingPoint())
            throw new ArgumentException($"A checkpoint is saved as F32, F16 or BF16, not {target}.", nameof(dtype));

        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (Tensor.NoGrad())
            foreach (var name in expected.Keys)
            {
                var tensor = state[name];
                if (!tensor.Shape.SequenceEqual(expected[name]))
                    throw new InvalidOperationException($"SavePretrained: '{name}' is {tensor.Describe()}, the config needs {Shape(expected[name])}.");
                if (!tensor.DType.IsFloatingPoint())
                    throw new InvalidOperationException($"SavePretrained: '{name}' is stored as {tensor.DType} (quantized?); dequantize it first.");
                tensors.Add(name, tensor.DType == target ? tensor : tensor.To(target));
            }
        Safetensors.Save(Path.Combine(directory, WeightsFile), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        (model.Config with { TorchDType = target }).Save(Path.Combine(directory, ConfigFile));
    }
}
