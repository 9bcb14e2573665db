using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Lora;
using Peft.Net.Models;

namespace Peft.Net.Cli.Tests;

/// <summary>
/// <c>peft merge</c> of adapters whose <c>init_lora_weights</c> rewrites the base when PEFT loads them: the merge starts
/// from the same rewritten base (PiSSA, OLoRA), or refuses (LoftQ & co.) instead of merging into the wrong weights.
/// </summary>
public sealed class MergeInitialisationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static string Fixture(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "fixtures", "adapters", .. parts]);

    private static void AssertClose(float[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"{what}[{i}]: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void AnOloraFolderMergesIntoTheQrResidualAsPyTorchComputesIt()
    {
        string output = _folder.File("merged.safetensors");
        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", Fixture("olora"), "-o", output);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        var expected = Safetensors.Load(Fixture("olora", "merged.safetensors"));
        var baseTensors = Safetensors.Load(Fixture("base.safetensors"));
        var actual = Safetensors.Load(output);
        int changed = 0;
        foreach (var (name, tensor) in expected)
        {
            AssertClose(tensor.ToArray(), actual[name].ToArray(), 1e-5, name);
            if (!baseTensors[name].ToArray().SequenceEqual(actual[name].ToArray())) changed++;
        }
        Assert.Equal(8, changed);   // q, v, up, down × 2 layers
    }

    [Fact]
    public void APissaFolderMergesIntoTheSvdResidualLikeMergeAndUnload()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 48, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 64,
            MaxPositionEmbeddings = 32,
        };
        var model = new LlamaForCausalLM(config, new TensorRandom(3));
        string baseDir = _folder.Folder("base"), adapterDir = _folder.Folder("adapter");
        model.SavePretrained(baseDir);   // the original base, before PiSSA rewrites it
        model.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "down_proj"], init: LoraInit.PiSSA);
        foreach (var (key, tensor) in model.StateDict())
            if (key.Contains("lora_B", StringComparison.Ordinal))
                for (int i = 0; i < tensor.Count; i++) tensor.AsSpan()[i] += 0.01f * ((i % 5) - 2);   // "training"
        model.SaveAdapter(adapterDir);
        var expected = model.MergeAndUnload().StateDict();
        string outDir = _folder.File("out");

        var result = CliRunner.Run("merge", "--base", baseDir, "--adapter", adapterDir, "-o", outDir);

        Assert.Equal("", result.Error);
        Assert.Equal(0, result.ExitCode);
        var merged = Safetensors.Load(Path.Combine(outDir, "model.safetensors"));
        foreach (string name in new[] { "model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.down_proj.weight", "model.layers.0.self_attn.k_proj.weight" })
            AssertClose(expected[name].To(DType.F32).ToArray(), merged[name].To(DType.F32).ToArray(), 1e-5, name);
        // Without the residual the merged q_proj would be W + s·B·A: far from PEFT's W_res + s·B·A.
        var original = Safetensors.Load(Path.Combine(baseDir, "model.safetensors"))["model.layers.0.self_attn.q_proj.weight"].To(DType.F32).ToArray();
        Assert.True(original.Zip(merged["model.layers.0.self_attn.q_proj.weight"].To(DType.F32).ToArray()).Max(p => Math.Abs(p.First - p.Second)) < 0.05,
            "a PiSSA merge changes the weight only by the training of B");
    }

    [Fact]
    public void ALoftqFolderIsRefusedWithHowToConvert()
    {
        string adapter = _folder.Folder("loftq");
        foreach (var file in Directory.GetFiles(Fixture("olora"), "adapter_*"))
            File.Copy(file, Path.Combine(adapter, Path.GetFileName(file)));
        string config = Path.Combine(adapter, "adapter_config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"init_lora_weights\": \"olora\"", "\"init_lora_weights\": \"loftq\""));

        var result = CliRunner.Run("merge", "--base", Fixture("base.safetensors"), "--adapter", adapter, "-o", _folder.File("o.safetensors"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("'init_lora_weights' is \"loftq\"", result.Error);
        Assert.Contains("path_initial_model_for_weight_conversion", result.Error);
        Assert.False(File.Exists(_folder.File("o.safetensors")));
    }
}
