using Peft.Net.Core;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Tests;

public sealed class MergeCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "fixtures", "adapters", .. parts]);

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.ShapeArray(), actual.ShapeArray());
        var e = expected.ToArray();
        var a = actual.ToArray();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * (1 + Math.Abs(e[i])), $"{what}[{i}]: expected {e[i]}, got {a[i]}");
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    public void MergingAPeftAdapterIntoAFileMatchesPyTorch(string adapterCase)
    {
        string output = _folder.File("merged.safetensors");
        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", Fixture(adapterCase), "-o", output);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("adapted modules", result.Out);
        var expected = Safetensors.Load(Fixture(adapterCase, "merged.safetensors"));
        var baseTensors = Safetensors.Load(Fixture("base.safetensors"));
        var actual = Safetensors.Load(output);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        int changed = 0;
        foreach (var (name, tensor) in expected)
        {
            Assert.Equal(DType.F32, actual[name].DType);
            AssertClose(tensor, actual[name], 2e-6, name);
            if (!baseTensors[name].ToArray().SequenceEqual(actual[name].ToArray())) changed++;
        }
        Assert.Equal(adapterCase == "lora" ? 8 : 9, changed);   // lora: q, v, down ×2 layers + embed_tokens + lm_head (modules_to_save); dora: q, k, o, up ×2 layers + embed_tokens
        using var file = SafetensorsFile.Open(output);
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void AFolderBaseKeepsDtypesUntouchedTensorsAndCopiesConfigFiles()
    {
        string baseDir = _folder.Folder("base");
        var tensors = Safetensors.Load(Fixture("base.safetensors")).ToDictionary(p => p.Key, p => p.Value.To(DType.BF16));
        var step = Tensor.Empty(DType.I64, 1);
        step.AsSpan<long>()[0] = 42;
        tensors["model.step"] = step;
        Safetensors.Save(Path.Combine(baseDir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(baseDir, "config.json"), "{\"model_type\": \"llama\"}");
        File.WriteAllText(Path.Combine(baseDir, "tokenizer.json"), "{}");
        string outDir = _folder.File("out");

        var result = CliRunner.Run("merge", "--base", baseDir, "--adapter", Fixture("dora"), "-o", outDir);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["config.json", "model.safetensors", "tokenizer.json"], Directory.GetFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("{\"model_type\": \"llama\"}", File.ReadAllText(Path.Combine(outDir, "config.json")));
        var merged = Safetensors.Load(Path.Combine(outDir, "model.safetensors"));
        Assert.Equal(42, merged["model.step"].AsSpan<long>()[0]);
        var expected = Safetensors.Load(Fixture("dora", "merged.safetensors"));
        foreach (var (name, tensor) in tensors)
        {
            if (name == "model.step") continue;
            Assert.Equal(DType.BF16, merged[name].DType);
            // Unchanged tensors are copied bit for bit; merged ones agree with PyTorch up to the BF16 base.
            if (name.Contains("q_proj.weight") || name.Contains("k_proj.weight") || name.Contains("o_proj.weight") || name.Contains("up_proj.weight") || name.Contains("embed_tokens"))
                AssertClose(expected[name], merged[name], 1.5e-2, name);
            else
                Assert.Equal(tensor.AsSpan<BFloat16>().ToArray(), merged[name].AsSpan<BFloat16>().ToArray());
        }
    }

    [Fact]
    public void AShardedBaseKeepsItsShardsAndIndex()
    {
        string baseDir = _folder.Folder("sharded");
        var tensors = Safetensors.Load(Fixture("base.safetensors"));
        var first = tensors.Where(p => p.Key.Contains("layers.0") || p.Key.Contains("embed")).ToDictionary();
        var second = tensors.Where(p => !first.ContainsKey(p.Key)).ToDictionary();
        Safetensors.Save(Path.Combine(baseDir, "model-00001-of-00002.safetensors"), first);
        Safetensors.Save(Path.Combine(baseDir, "model-00002-of-00002.safetensors"), second);
        string map = string.Join(",", first.Keys.Select(k => $"\"{k}\": \"model-00001-of-00002.safetensors\"")
            .Concat(second.Keys.Select(k => $"\"{k}\": \"model-00002-of-00002.safetensors\"")));
        string index = "{\"metadata\": {\"total_size\": 1}, \"weight_map\": {" + map + "}}";
        File.WriteAllText(Path.Combine(baseDir, "model.safetensors.index.json"), index);
        string outDir = _folder.File("out");

        var result = CliRunner.Run("merge", "--base", baseDir, "--adapter", Fixture("lora"), "-o", outDir);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(index, File.ReadAllText(Path.Combine(outDir, "model.safetensors.index.json")));
        var shard1 = Safetensors.Load(Path.Combine(outDir, "model-00001-of-00002.safetensors"));
        var shard2 = Safetensors.Load(Path.Combine(outDir, "model-00002-of-00002.safetensors"));
        Assert.Equal(first.Keys.Order(), shard1.Keys.Order());
        Assert.Equal(second.Keys.Order(), shard2.Keys.Order());
        var expected = Safetensors.Load(Fixture("lora", "merged.safetensors"));
        foreach (var (name, tensor) in shard1.Concat(shard2))
            AssertClose(expected[name], tensor, 2e-6, name);
    }

    private string CopyAdapter(string adapterCase)
    {
        string dir = _folder.Folder("adapter-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var file in Directory.GetFiles(Fixture(adapterCase), "adapter_*"))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Fact]
    public void AnAdapterKeyWithoutABaseTensorExitsWithOneNamingIt()
    {
        string adapter = CopyAdapter("lora");
        string weights = Path.Combine(adapter, "adapter_model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors["base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight"] = Tensor.Zeros(4, 16);
        tensors["base_model.model.model.layers.5.self_attn.q_proj.lora_B.weight"] = Tensor.Zeros(16, 4);
        Safetensors.Save(weights, tensors);

        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {weights}: tensor 'base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight' needs base tensor " +
            $"'model.layers.5.self_attn.q_proj.weight', which {Fixture("base.safetensors")} does not have", Assert.Single(result.ErrorLines));
        Assert.False(File.Exists(_folder.File("o.safetensors")));
    }

    [Fact]
    public void ShapeAndRankMismatchesExitWithOne()
    {
        string adapter = CopyAdapter("lora");
        string weights = Path.Combine(adapter, "adapter_model.safetensors");
        var tensors = Safetensors.Load(weights);
        tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = Tensor.Zeros(4, 15);
        Safetensors.Save(weights, tensors);
        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("module 'model.layers.0.self_attn.q_proj': A [4, 15], B [16, 4] do not fit base tensor 'model.layers.0.self_attn.q_proj.weight' [16, 16]", Assert.Single(result.ErrorLines));

        tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"] = Tensor.Zeros(3, 16);
        tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"] = Tensor.Zeros(16, 3);
        Safetensors.Save(weights, tensors);
        result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("module 'model.layers.0.self_attn.q_proj' has rank 3 but adapter_config.json gives r = 4", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void BadInputsExitWithOneAndAOneLineError()
    {
        string adapter = CopyAdapter("lora");
        string config = Path.Combine(adapter, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"r\": 4", "\"r\": 0"));
        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {config}: 'r' must be a positive integer, found 0", Assert.Single(result.ErrorLines));

        result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", _folder.File("nope"), "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {_folder.File("nope")}: no such adapter folder", Assert.Single(result.ErrorLines));

        result = CliRunner.Run("merge", "--base", _folder.File("missing.safetensors"), "--adapter", Fixture("lora"), "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: {_folder.File("missing.safetensors")}: no such file or folder", Assert.Single(result.ErrorLines));

        string baseCopy = _folder.File("base.safetensors");
        File.Copy(Fixture("base.safetensors"), baseCopy);
        result = CliRunner.Run("merge", "--base", baseCopy, "--adapter", Fixture("lora"), "-o", baseCopy);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("would overwrite the base model", Assert.Single(result.ErrorLines));

        result = CliRunner.Run("merge", "--base", baseCopy, "--adapter", Fixture("lora"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--output", result.Error);
    }
}

public sealed class MergeCommandPeftFolderTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "fixtures", "adapters", .. parts]);

    private string CopyAdapter(string adapterCase)
    {
        string dir = _folder.Folder("adapter-" + Guid.NewGuid().ToString("N")[..6]);
        foreach (var file in Directory.GetFiles(Fixture(adapterCase), "adapter_*"))
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        return dir;
    }

    [Fact]
    public void ASaveEmbeddingLayersFolderMergesOnTopOfItsSavedEmbedding()
    {
        // The lora fixture adapts embed_tokens; PEFT's default save then also stores embed_tokens.base_layer.weight.
        string adapter = CopyAdapter("lora");
        string weights = Path.Combine(adapter, "adapter_model.safetensors");
        var baseTensors = Safetensors.Load(Fixture("base.safetensors"));
        var tensors = Safetensors.Load(weights).ToDictionary(p => p.Key, p => p.Value);
        var savedEmbedding = baseTensors["model.embed_tokens.weight"].Clone();
        savedEmbedding.AsSpan()[5] += 0.5f;   // a value the base does not have: the saved one must win
        tensors["base_model.model.model.embed_tokens.base_layer.weight"] = savedEmbedding;
        Safetensors.Save(weights, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        string output = _folder.File("merged.safetensors");

        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", output);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        var merged = Safetensors.Load(output);
        var expected = Safetensors.Load(Fixture("lora", "merged.safetensors"));
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), merged.Keys.Order(StringComparer.Ordinal));
        var e = expected["model.embed_tokens.weight"].ToArray();
        var m = merged["model.embed_tokens.weight"].ToArray();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] + (i == 5 ? 0.5f : 0f) - m[i]) <= 2e-6 * (1 + Math.Abs(e[i])), $"embed_tokens[{i}]: expected {e[i]}, got {m[i]}");
    }

    [Fact]
    public void ModulesToSaveLmHeadOnATiedBaseBecomesItsOwnHead()
    {
        // A Qwen2-like folder: lm_head is tied to embed_tokens, so the checkpoint has no lm_head.weight.
        string baseDir = _folder.Folder("tied");
        var tensors = Safetensors.Load(Fixture("base.safetensors")).Where(p => p.Key != "lm_head.weight").ToDictionary(p => p.Key, p => p.Value.To(DType.BF16));
        Safetensors.Save(Path.Combine(baseDir, "model.safetensors"), tensors, new Dictionary<string, string> { ["format"] = "pt" });
        File.WriteAllText(Path.Combine(baseDir, "config.json"), "{\"model_type\": \"qwen2\", \"tie_word_embeddings\": true}");
        string outDir = _folder.File("out");

        var result = CliRunner.Run("merge", "--base", baseDir, "--adapter", Fixture("lora"), "-o", outDir);   // modules_to_save: ["lm_head"]

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        var merged = Safetensors.Load(Path.Combine(outDir, "model.safetensors"));
        using (var adapter = SafetensorsFile.Open(Fixture("lora", "adapter_model.safetensors")))
        {
            var head = adapter.ReadTensorAsFloat32("base_model.model.lm_head.weight").To(DType.BF16);
            Assert.Equal(DType.BF16, merged["lm_head.weight"].DType);
            Assert.Equal(head.AsSpan<BFloat16>().ToArray(), merged["lm_head.weight"].AsSpan<BFloat16>().ToArray());
        }
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!;
        Assert.False(config["tie_word_embeddings"]!.GetValue<bool>());
        Assert.Equal("qwen2", config["model_type"]!.GetValue<string>());
    }

    [Fact]
    public void LayerReplicationExitsWithOneNamingTheField()
    {
        string adapter = CopyAdapter("lora");
        string config = Path.Combine(adapter, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"layer_replication\": null", "\"layer_replication\": [[0, 2]]"));
        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'layer_replication' [[0,2]] is not supported", Assert.Single(result.ErrorLines));
    }
}
