using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace TorchLlama;

/// <summary>
/// Loads a Hugging Face checkpoint folder (config.json plus model.safetensors, or the shards listed in
/// model.safetensors.index.json) into a <see cref="TorchLlamaForCausalLM"/>: the config is read by the engine's
/// <see cref="LlamaConfig.Load"/>, the tensors by its <see cref="SafetensorsFile"/> reader (F32, F16 and BF16 are
/// widened to float32), and copied into the TorchSharp parameters of the same names.
/// </summary>
internal static class TorchLlamaCheckpoint
{
    /// <summary>Most problems listed in one error message.</summary>
    private const int ListedProblems = 20;

    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">config.json, the weights or a listed shard is missing.</exception>
    /// <exception cref="InvalidDataException">The tensors do not match the config; the message lists every missing, unexpected or mis-shaped tensor with its file.</exception>
    public static TorchLlamaForCausalLM Load(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{directory}: the model folder does not exist.");
        var config = LlamaConfig.Load(Path.Combine(directory, "config.json"));
        var files = HfWeightFiles.Open(directory);
        try
        {
            var located = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
            foreach (var file in files)
                foreach (var entry in file.Entries)
                    if (!located.TryAdd(entry.Name, file))
                        throw new InvalidDataException(
                            $"{directory}: tensor '{entry.Name}' is in both {Path.GetFileName(located[entry.Name].FilePath)} and {Path.GetFileName(file.FilePath)}.");

            var model = new TorchLlamaForCausalLM(config);
            var state = model.state_dict();
            // A tied head is the embedding's own parameter: the checkpoint holds it once, as model.embed_tokens.weight.
            var wanted = state.Where(p => !(config.TieWordEmbeddings && p.Key == "lm_head.weight")).ToList();
            var problems = new List<string>();
            using (no_grad())
            {
                foreach (var (name, parameter) in wanted)
                {
                    if (!located.TryGetValue(name, out var file))
                    {
                        problems.Add($"missing tensor '{name}' [{string.Join(", ", parameter.shape)}]");
                        continue;
                    }
                    var entry = file.GetEntry(name);
                    string where = $"{Path.GetFileName(file.FilePath)}: tensor '{name}'";
                    if (!entry.Shape.ToArray().Select(d => (long)d).SequenceEqual(parameter.shape))
                        problems.Add($"{where} has shape [{string.Join(", ", entry.ShapeArray())}], the model needs [{string.Join(", ", parameter.shape)}]");
                    else if (!entry.IsSupported || !entry.DType.IsFloatingPoint())
                        problems.Add($"{where} is {entry.DTypeName}; weights must be F32, F16 or BF16");
                    else
                    {
                        float[] values = file.ReadTensorAsFloat32(name).AsSpan().ToArray();
                        using var source = tensor(values, parameter.shape);
                        parameter.copy_(source);
                    }
                }
            }
            foreach (var (name, file) in located)
                if (!state.ContainsKey(name) && !name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal))
                    problems.Add($"{Path.GetFileName(file.FilePath)}: unexpected tensor '{name}'");
            if (problems.Count > 0)
                throw new InvalidDataException(
                    $"{directory}: the checkpoint does not match the config ({problems.Count} problems): "
                    + string.Join("; ", problems.Take(ListedProblems)) + (problems.Count > ListedProblems ? $"; and {problems.Count - ListedProblems} more." : "."));
            model.eval();
            return model;
        }
        finally
        {
            foreach (var file in files) file.Dispose();
        }
    }
}
