using System.Text.Json.Nodes;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Lora;
using Peft.Net.Models;

namespace Peft.Net.Cli.Tests;

public sealed class ExportCommandTests
{
    private static readonly string[] Prompt = ["--ids", "1,17,42,99,3", "--greedy", "--print-ids", "--max-new-tokens", "16"];

    /// <summary>fixtures/llama/&lt;variant&gt; copied with a byte-level tokenizer.json of 256 ids (a GGUF needs a vocabulary).</summary>
    private static string ModelWithTokenizer(TempFolder temp, string variant)
    {
        string folder = temp.Folder(variant);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant)))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        var vocab = new JsonObject();
        for (int i = 0; i < 256; i++) vocab[((char)(0x100 + i)).ToString()] = i; // any 256 distinct symbols: ids are what the test uses
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), new JsonObject
        {
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocab, ["merges"] = new JsonArray() },
        }.ToJsonString());
        return folder;
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    public void Exported_f32_gguf_generates_as_the_folder_does(string variant)
    {
        using var temp = new TempFolder();
        string folder = ModelWithTokenizer(temp, variant), gguf = temp.File("model.gguf");
        var export = CliRunner.Run("export", "gguf", "--model", folder, "-o", gguf);
        Assert.True(export.ExitCode == 0, export.Error);
        Assert.Contains("wrote", export.Out);
        var fromFolder = CliRunner.Run(["generate", "--model", folder, .. Prompt]);
        var fromGguf = CliRunner.Run(["generate", "--model", gguf, .. Prompt]);
        Assert.True(fromGguf.ExitCode == 0, fromGguf.Error);
        Assert.Equal(fromFolder.Out, fromGguf.Out);
    }

    [Fact]
    public void Export_with_adapter_merges_it_and_q8_0_is_written()
    {
        using var temp = new TempFolder();
        string folder = ModelWithTokenizer(temp, "llama"), adapter = temp.File("adapter"), gguf = temp.File("merged.gguf");
        var model = LlamaForCausalLM.FromPretrained(folder);
        model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"]);
        foreach (var (_, b) in model.NamedParameters().Where(p => p.Name.Contains("lora_B", StringComparison.Ordinal)))
            b.AsSpan().Fill(0.01f);
        model.SaveAdapter(adapter);

        var result = CliRunner.Run("export", "gguf", "--model", folder, "--adapter", adapter, "-o", gguf, "--dtype", "q8_0");
        Assert.True(result.ExitCode == 0, result.Error);
        using (var file = GgufFile.Open(gguf))
        {
            Assert.Equal(GgmlType.Q8_0, file.Tensor("blk.0.attn_q.weight").Type);
            Assert.Equal(GgmlType.F32, file.Tensor("blk.0.attn_norm.weight").Type);
            Assert.Equal(7u, file.Get("general.file_type")!.Value);
        }
        var merged = (LlamaForCausalLM)model.MergeAndUnload();
        var back = LlamaForCausalLM.FromGguf(gguf);
        var expected = merged.StateDict()["model.layers.0.self_attn.v_proj.weight"].ToArray();
        var actual = back.StateDict()["model.layers.0.self_attn.v_proj.weight"].ToArray();
        Assert.True(expected.Zip(actual).Max(p => Math.Abs(p.First - p.Second)) < 0.05, "the merged weight is in the file");
        Assert.NotEqual(LlamaForCausalLM.FromPretrained(folder).StateDict()["model.layers.0.self_attn.v_proj.weight"].ToArray()[0], actual[0]);
    }

    [Fact]
    public void Gguf_adapter_is_written_with_llama_cpp_names()
    {
        using var temp = new TempFolder();
        string folder = ModelWithTokenizer(temp, "llama"), adapter = temp.File("adapter"), gguf = temp.File("adapter.gguf");
        var model = LlamaForCausalLM.FromPretrained(folder);
        model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "down_proj"]);
        model.SaveAdapter(adapter);
        var result = CliRunner.Run("export", "gguf-adapter", "--model", folder, "--adapter", adapter, "-o", gguf);
        Assert.True(result.ExitCode == 0, result.Error);
        using var file = GgufFile.Open(gguf);
        Assert.Equal("adapter", file.Get("general.type")!.Value);
        Assert.Equal("lora", file.Get("adapter.type")!.Value);
        Assert.Equal(8f, file.Get("adapter.lora.alpha")!.Value);
        Assert.Equal([64L, 4L], file.Tensor("blk.1.attn_q.weight.lora_a").Ne);
        Assert.Equal([4L, 64L], file.Tensor("blk.1.attn_q.weight.lora_b").Ne);
        Assert.Equal([4L, 64L], file.Tensor("blk.0.ffn_down.weight.lora_b").Ne);
        Assert.Equal(8, file.Tensors.Count);
    }

    [Fact]
    public void Errors_are_one_line_and_name_the_problem()
    {
        using var temp = new TempFolder();
        string folder = ModelWithTokenizer(temp, "llama");
        string bad = temp.File("bad.gguf");
        File.WriteAllBytes(bad, [(byte)'G', (byte)'G', (byte)'U', (byte)'F', 9, 0, 0, 0]);
        var hostile = CliRunner.Run(["generate", "--model", bad, .. Prompt]);
        Assert.NotEqual(0, hostile.ExitCode);
        Assert.Contains("GGUF version 9", hostile.Error);

        var dtype = CliRunner.Run("export", "gguf", "--model", folder, "-o", temp.File("x.gguf"), "--dtype", "q4_k");
        Assert.NotEqual(0, dtype.ExitCode);
        var missingTokenizer = CliRunner.Run("export", "gguf", "--model", Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama"), "-o", temp.File("y.gguf"));
        Assert.NotEqual(0, missingTokenizer.ExitCode);
        Assert.Contains("tokenizer.json", missingTokenizer.Error);
        Assert.False(File.Exists(temp.File("y.gguf")));
    }
}
