using System.Text.Json.Nodes;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>Bad folders, configs and checkpoints give errors that name the file, the field or the tensor.</summary>
public class LlamaErrorTests
{
    /// <summary>A copy of the "llama" fixture whose config and tensors a test may change.</summary>
    private static TempFolder CopyOfFixture(Action<JsonObject>? editConfig = null, Action<Dictionary<string, Tensor>>? editTensors = null)
    {
        var folder = new TempFolder();
        var source = LlamaFixtures.Folder("llama");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "config.json")))!.AsObject();
        editConfig?.Invoke(config);
        File.WriteAllText(folder.File("config.json"), config.ToJsonString());
        var tensors = Safetensors.Load(Path.Combine(source, "model.safetensors"));
        editTensors?.Invoke(tensors);
        Safetensors.Save(folder.File("model.safetensors"), tensors);
        return folder;
    }

    [Fact]
    public void MissingFolderConfigOrWeights()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N"));
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => LlamaForCausalLM.FromPretrained(missing)).Message);
        using var folder = CopyOfFixture();
        File.Delete(folder.File("model.safetensors"));
        var noWeights = Assert.Throws<FileNotFoundException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Contains("model.safetensors", noWeights.Message);
        File.Delete(folder.File("config.json"));
        Assert.Contains("config.json", Assert.Throws<FileNotFoundException>(() => LlamaForCausalLM.FromPretrained(folder.Path)).Message);
    }

    [Fact]
    public void UnsupportedModelType()
    {
        using var folder = CopyOfFixture(c => c["model_type"] = "gpt2");
        var error = Assert.Throws<NotSupportedException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Contains("'gpt2'", error.Message);
        Assert.Contains("config.json", error.Message);
    }

    [Fact]
    public void InconsistentHeadCounts()
    {
        using var kv = CopyOfFixture(c => c["num_key_value_heads"] = 3);
        Assert.Contains("multiple of num_key_value_heads (3)", Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(kv.Path)).Message);
        using var heads = CopyOfFixture(c => { c["num_attention_heads"] = 3; c["num_key_value_heads"] = 3; });
        Assert.Contains("divisible by num_attention_heads (3)", Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(heads.Path)).Message);
        Assert.Throws<ArgumentException>(() => new LlamaForCausalLM(LlamaFixtures.TinyConfig() with { NumKeyValueHeads = 3 }));
    }

    [Fact]
    public void MissingOrMistypedField()
    {
        using var missing = CopyOfFixture(c => c.Remove("hidden_size"));
        Assert.Contains("missing required field 'hidden_size'", Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(missing.Path)).Message);
        using var mistyped = CopyOfFixture(c => c["vocab_size"] = "many");
        Assert.Contains("'vocab_size' must be an integer", Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(mistyped.Path)).Message);
    }

    [Fact]
    public void UnsupportedRopeScaling()
    {
        using var folder = CopyOfFixture(c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });
        var error = Assert.Throws<NotSupportedException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Contains("'yarn'", error.Message);
    }

    [Fact]
    public void MissingUnexpectedAndMisShapedTensorsAreAllListed()
    {
        using var folder = CopyOfFixture(editTensors: t =>
        {
            t.Remove("model.layers.1.mlp.up_proj.weight");
            t["model.layers.0.self_attn.k_proj.weight"] = Tensor.Zeros(8, 64);
            t["model.layers.0.self_attn.extra"] = Tensor.Zeros(2);
        });
        var error = Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Contains("3 problems", error.Message);
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight' [172, 64]", error.Message);
        Assert.Contains("model.safetensors: tensor 'model.layers.0.self_attn.k_proj.weight' has shape [8, 64], the config needs [64, 64]", error.Message);
        Assert.Contains("model.safetensors: unexpected tensor 'model.layers.0.self_attn.extra'", error.Message);
    }

    [Fact]
    public void IntegerWeightsAreRefused()
    {
        using var folder = CopyOfFixture(editTensors: t => t["model.norm.weight"] = Tensor.Wrap(new int[64], 64));
        Assert.Contains("'model.norm.weight' is I32", Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(folder.Path)).Message);
    }

    [Fact]
    public void MissingShardIsNamed()
    {
        using var folder = CopyOfFixture();
        File.Delete(folder.File("model.safetensors"));
        File.WriteAllText(folder.File("model.safetensors.index.json"), """{"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}}""");
        var error = Assert.Throws<FileNotFoundException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Contains("model-00001-of-00002.safetensors", error.Message);
    }
}
