using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using TorchLlama;
using static Peft.Net.TorchSharp.Tests.TorchLlamaTesting;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>The HF checkpoint loader of the TorchSharp Llama: shards, and clear errors for folders that do not fit.</summary>
public class TorchLlamaCheckpointTests
{
    [Fact]
    public void Sharded_checkpoint_loads_the_same_weights_as_one_file()
    {
        using var dir = new TorchLlamaTempDirectory();
        WriteCheckpoint(GqaConfig(), dir.Sub("single"));
        var tensors = ReadAll(Path.Combine(dir.Sub("single"), "model.safetensors"));
        Directory.CreateDirectory(dir.Sub("sharded"));
        File.Copy(Path.Combine(dir.Sub("single"), "config.json"), Path.Combine(dir.Sub("sharded"), "config.json"));
        var names = tensors.Keys.ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var weightMap = new Dictionary<string, string>();
        for (int s = 0; s < 2; s++)
        {
            string file = $"model-0000{s + 1}-of-00002.safetensors";
            Safetensors.Save(Path.Combine(dir.Sub("sharded"), file), shards[s].ToDictionary(n => n, n => tensors[n]));
            foreach (var n in shards[s]) weightMap[n] = file;
        }
        File.WriteAllText(Path.Combine(dir.Sub("sharded"), "model.safetensors.index.json"), JsonSerializer.Serialize(new { weight_map = weightMap }));

        var prompt = Prompts(259)[0];
        Assert.Equal(TorchLogits(TorchLlamaCheckpoint.Load(dir.Sub("single")), prompt), TorchLogits(TorchLlamaCheckpoint.Load(dir.Sub("sharded")), prompt));
    }

    [Fact]
    public void Missing_misshaped_and_unexpected_tensors_are_all_named_with_their_file()
    {
        using var dir = new TorchLlamaTempDirectory();
        WriteCheckpoint(GqaConfig(), dir.Path);
        string weights = Path.Combine(dir.Path, "model.safetensors");
        var tensors = ReadAll(weights);
        tensors.Remove("model.layers.1.mlp.up_proj.weight");
        tensors["model.norm.weight"] = Tensor.Ones(47);
        tensors["model.layers.0.self_attn.q_proj.lora_A.weight"] = Tensor.Zeros(4, 48);
        Safetensors.Save(weights, tensors);

        var error = Assert.Throws<InvalidDataException>(() => TorchLlamaCheckpoint.Load(dir.Path));
        Assert.Contains("3 problems", error.Message);
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight' [88, 48]", error.Message);
        Assert.Contains("model.safetensors: tensor 'model.norm.weight' has shape [47], the model needs [48]", error.Message);
        Assert.Contains("model.safetensors: unexpected tensor 'model.layers.0.self_attn.q_proj.lora_A.weight'", error.Message);
    }

    [Fact]
    public void Folder_without_weights_or_config_is_refused_with_its_path()
    {
        using var dir = new TorchLlamaTempDirectory();
        Assert.Throws<DirectoryNotFoundException>(() => TorchLlamaCheckpoint.Load(dir.Sub("nowhere")));
        GqaConfig().Save(dir.Path);
        var error = Assert.Throws<FileNotFoundException>(() => TorchLlamaCheckpoint.Load(dir.Path));
        Assert.Contains(dir.Path, error.Message);
        Assert.Contains("model.safetensors", error.Message);
    }

    private static Dictionary<string, Tensor> ReadAll(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Entries.ToDictionary(e => e.Name, e => file.ReadTensor(e.Name));
    }
}
