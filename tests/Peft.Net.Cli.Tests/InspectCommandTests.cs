using System.Text.Json;
using Peft.Net.Cli.Commands.Inspect;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Tests;

public sealed class InspectCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Dictionary<string, Tensor> SmallModel() => new()
    {
        ["model.embed.weight"] = Tensor.Zeros(10, 4),
        ["model.norm.weight"] = Tensor.Empty(DType.BF16, 4),
        ["model.layers.0.mlp.weight"] = Tensor.Empty(DType.F16, 8, 4),
        ["step"] = Tensor.Empty(DType.I64),
    };

    private string SaveSmallModel(string name = "model.safetensors")
    {
        string path = _folder.File(name);
        Safetensors.Save(path, SmallModel(), new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }

    [Fact]
    public void ListsTheTensorsOfAFileAsPlainLines()
    {
        string path = SaveSmallModel();
        var result = CliRunner.Run("inspect", path);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        string[] lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{path}: 4 tensors, 77 parameters, 240 bytes of data (240 B)", lines[0]);
        Assert.Equal("metadata format: pt", lines[1]);
        // Plain lines split on whitespace into name, dtype, shape, bytes — in file order (reference order).
        var rows = lines[2..].Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        Assert.Equal(
            [
                ["step", "I64", "[]", "8"],
                ["model.embed.weight", "F32", "[10,4]", "160"],
                ["model.norm.weight", "BF16", "[4]", "8"],
                ["model.layers.0.mlp.weight", "F16", "[8,4]", "64"],
            ],
            rows);
    }

    [Fact]
    public void JsonGivesOneObjectWithTensorsTotalsAndMetadata()
    {
        string path = SaveSmallModel();
        var result = CliRunner.Run("inspect", path, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("", result.Error);
        Assert.Single(result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var doc = JsonDocument.Parse(result.Out);
        var root = doc.RootElement;
        Assert.Equal(path, root.GetProperty("path").GetString());
        Assert.Equal("safetensors", root.GetProperty("kind").GetString());
        Assert.Equal(new FileInfo(path).Length, root.GetProperty("file_bytes").GetInt64());
        Assert.Equal("pt", root.GetProperty("metadata").GetProperty("format").GetString());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToArray();
        Assert.Equal(["step", "model.embed.weight", "model.norm.weight", "model.layers.0.mlp.weight"],
            tensors.Select(t => t.GetProperty("name").GetString()));
        var embed = tensors[1];
        Assert.Equal("F32", embed.GetProperty("dtype").GetString());
        Assert.Equal([10, 4], embed.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(40, embed.GetProperty("elements").GetInt64());
        Assert.Equal(160, embed.GetProperty("bytes").GetInt64());
        Assert.Equal([8L, 168L], embed.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Empty(tensors[0].GetProperty("shape").EnumerateArray());
        var totals = root.GetProperty("totals");
        Assert.Equal(4, totals.GetProperty("tensors").GetInt64());
        Assert.Equal(77, totals.GetProperty("parameters").GetInt64());
        Assert.Equal(240, totals.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void AMalformedFileExitsWithOneAndAOneLineErrorNamingTheFile()
    {
        string path = _folder.File("broken.safetensors");
        File.WriteAllBytes(path, [15, 0, 0, 0, 0, 0, 0, 0, .. "{\"a\":{\"dtype\":1"u8]);
        var result = CliRunner.Run("inspect", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"error: {path}: ", line);
        Assert.Contains("header is not valid JSON", line);
        Assert.DoesNotContain(" at Peft.", result.Error);
    }

    [Fact]
    public void AnInconsistentEntryNamesTheFileAndTheTensor()
    {
        string path = _folder.File("bad-offsets.safetensors");
        File.WriteAllBytes(path, [56, 0, 0, 0, 0, 0, 0, 0, .. "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}  "u8, 0, 0, 0, 0, 0, 0, 0, 0]);
        var result = CliRunner.Run("inspect", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {path}: tensor 'w': data_offsets [0, 8] span 8 bytes but shape [3] of F32 needs 12", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void VerboseAddsTheStackTrace()
    {
        string path = _folder.File("short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var result = CliRunner.Run("inspect", path, "--verbose");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {path}: file is 3 bytes long, shorter than the 8-byte header length prefix", result.ErrorLines[0]);
        Assert.Contains("SafetensorsFormatException", result.Error);
        Assert.Contains(" at Peft.Net.Core.IO.SafetensorsFile", result.Error);
    }

    [Fact]
    public void AMissingPathExitsWithOne()
    {
        string path = _folder.File("does-not-exist.safetensors");
        var result = CliRunner.Run("inspect", path);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Out);
        Assert.Equal($"error: {path}: no such file or folder", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void AMissingArgumentIsAUsageErrorWithExitCodeOne()
    {
        var result = CliRunner.Run("inspect");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Required argument missing", result.Error);
    }

    [Fact]
    public void AModelFolderListsItsFilesAndChecksTheShardIndex()
    {
        string folder = _folder.Folder("model");
        Safetensors.Save(Path.Combine(folder, "model-00001-of-00002.safetensors"), new Dictionary<string, Tensor> { ["a"] = Tensor.Zeros(2, 3) });
        Safetensors.Save(Path.Combine(folder, "model-00002-of-00002.safetensors"), new Dictionary<string, Tensor> { ["b"] = Tensor.Empty(DType.F16, 5), ["c"] = Tensor.Zeros(1) });
        File.WriteAllText(Path.Combine(folder, "model.safetensors.index.json"),
            """{"metadata": {"total_size": 38}, "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}}""");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{}");

        var text = CliRunner.Run("inspect", folder);
        Assert.Equal(0, text.ExitCode);
        Assert.Contains($"{folder}: 2 safetensors files, 3 tensors, 12 parameters, 38 bytes of data", text.Out);
        Assert.Contains("index model.safetensors.index.json: 3 tensors in 2 shards, total_size 38", text.Out);
        Assert.Contains("model-00002-of-00002.safetensors  2  6  14", text.Out);

        var json = CliRunner.Run("inspect", folder, "--json");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        var root = doc.RootElement;
        Assert.Equal("folder", root.GetProperty("kind").GetString());
        Assert.Equal(["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
            root.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("file").GetString()));
        var index = Assert.Single(root.GetProperty("indexes").EnumerateArray().ToArray());
        Assert.Equal(3, index.GetProperty("tensors").GetInt32());
        Assert.Equal(38, index.GetProperty("total_size").GetInt64());
        Assert.Equal(2, index.GetProperty("shards").GetArrayLength());
        Assert.Equal(12, root.GetProperty("totals").GetProperty("parameters").GetInt64());
    }

    [Theory]
    [InlineData("""{"weight_map": {"a": "model-00009.safetensors"}}""", "tensor 'a' is mapped to shard 'model-00009.safetensors', which is not a .safetensors file in the folder")]
    [InlineData("""{"weight_map": {"zz": "model.safetensors"}}""", "tensor 'zz' is mapped to shard 'model.safetensors', which does not contain it")]
    [InlineData("""{"weight_map": ["a"]}""", "expected an object with a 'weight_map' object")]
    [InlineData("""{"weight_map": """, "not valid JSON")]
    public void AnIndexThatDoesNotMatchTheShardsIsAnError(string index, string problem)
    {
        string folder = _folder.Folder("sharded");
        Safetensors.Save(Path.Combine(folder, "model.safetensors"), new Dictionary<string, Tensor> { ["a"] = Tensor.Zeros(1) });
        string indexPath = Path.Combine(folder, "model.safetensors.index.json");
        File.WriteAllText(indexPath, index);

        var result = CliRunner.Run("inspect", folder);
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.ErrorLines);
        Assert.StartsWith($"error: {indexPath}: ", line);
        Assert.Contains(problem, line);
    }

    [Fact]
    public void AFolderWithoutSafetensorsIsAnError()
    {
        string folder = _folder.Folder("empty");
        var result = CliRunner.Run("inspect", folder);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {folder}: no .safetensors files (and no adapter_config.json) in this folder", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void AnAdapterFolderShowsItsConfigAndTrainableParameterCount()
    {
        string folder = _folder.Folder("adapter");
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"),
            """{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"], "use_dora": false, "base_model_name_or_path": null}""");
        Safetensors.Save(Path.Combine(folder, "adapter_model.safetensors"), new Dictionary<string, Tensor>
        {
            ["base_model.model.layers.0.q_proj.lora_A.weight"] = Tensor.Zeros(8, 64),
            ["base_model.model.layers.0.q_proj.lora_B.weight"] = Tensor.Zeros(64, 8),
            ["base_model.model.layers.0.v_proj.lora_A.weight"] = Tensor.Zeros(8, 64),
            ["base_model.model.layers.0.v_proj.lora_B.weight"] = Tensor.Zeros(32, 8),
        });
        const long trainable = 8 * 64 + 64 * 8 + 8 * 64 + 32 * 8;

        var text = CliRunner.Run("inspect", folder);
        Assert.Equal(0, text.ExitCode);
        var lines = text.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"{folder}: adapter, 4 tensors, {trainable} trainable parameters, {trainable * 4} bytes (7.0 KiB) in adapter_model.safetensors", lines[0]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["peft_type", "LORA"]);
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["r", "8"]);
        Assert.Contains(lines, l => l.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries) is ["target_modules", var v] && v.Trim() == "q_proj, v_proj");
        Assert.Contains(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is ["base_model_name_or_path", "null"]);

        var json = CliRunner.Run("inspect", folder, "--json");
        Assert.Equal(0, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Out);
        var root = doc.RootElement;
        Assert.Equal("adapter", root.GetProperty("kind").GetString());
        Assert.Equal(trainable, root.GetProperty("trainable_parameters").GetInt64());
        Assert.Equal(4, root.GetProperty("tensors").GetInt32());
        Assert.Equal(16, root.GetProperty("config").GetProperty("lora_alpha").GetInt32());
        Assert.Equal("v_proj", root.GetProperty("config").GetProperty("target_modules")[1].GetString());
    }

    [Fact]
    public void AnAdapterFolderWithoutWeightsIsAnError()
    {
        string folder = _folder.Folder("adapter");
        File.WriteAllText(Path.Combine(folder, "adapter_config.json"), """{"peft_type": "LORA"}""");
        var result = CliRunner.Run("inspect", folder);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: {Path.Combine(folder, "adapter_model.safetensors")}: missing", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void AnAdapterConfigThatIsNotJsonIsAnError()
    {
        string folder = _folder.Folder("adapter");
        string config = Path.Combine(folder, "adapter_config.json");
        File.WriteAllText(config, "{ nope");
        var result = CliRunner.Run("inspect", folder);
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: {config}: not valid JSON", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void ATerminalGetsATable()
    {
        string path = SaveSmallModel();
        var output = new StringWriter();
        TensorFileReport.Read(path).WriteText(new CliConsole(output, TextWriter.Null, isTerminal: true));
        string text = output.ToString();
        Assert.Contains("─", text); // box-drawing border
        Assert.Contains("DType", text);
        Assert.Contains("model.layers.0.mlp.weight", text);
        Assert.Contains("[8,4]", text);
    }

    [Fact]
    public void ControlCharactersInNamesStayOnOneLine()
    {
        string path = _folder.File("odd.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["tab\there\nnewline"] = Tensor.Zeros(1) });
        var result = CliRunner.Run("inspect", path);
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("tab\\there\\nnewline  F32  [1]  4", result.Out);
    }
}
