using System.Text.Json;
using Peft.Net.Models;
using TorchLlama;
using TorchSharp;
using ETensor = Peft.Net.Core.Tensor;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>Shared pieces of the TorchLlama tests: fixtures, configs, engine ↔ TorchSharp conversions and comparisons.</summary>
internal static class TorchLlamaTesting
{
    /// <summary>The folder fixtures/llama/&lt;variant&gt; (tests/fixtures/make_llama.py) beside the test assembly.</summary>
    public static string FixtureFolder(string variant) => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant);

    /// <summary>The reference file fixtures/llama/&lt;variant&gt;.json: "meta" (ids, greedy ids) and "tensors" (logits).</summary>
    public static JsonElement FixtureJson(string variant) =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant + ".json"))).RootElement;

    public static int[] Ints(JsonElement element) => element.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static float[] Floats(JsonElement fixture, string tensor) =>
        fixture.GetProperty("tensors").GetProperty(tensor).GetProperty("data").EnumerateArray().Select(e => e.GetSingle()).ToArray();

    /// <summary>A small config with grouped-query attention (4 query heads, 2 key/value heads) and a byte-sized vocabulary.</summary>
    public static LlamaConfig GqaConfig(bool tied = false, string modelType = "llama") => new()
    {
        ModelType = modelType,
        HiddenSize = 48,
        IntermediateSize = 88,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 259,
        MaxPositionEmbeddings = 128,
        RopeTheta = 500000,
        RmsNormEps = 1e-5,
        TieWordEmbeddings = tied,
        QkvBias = modelType == "qwen2",
        BosTokenId = 256,
        EosTokenIds = [257],
    };

    /// <summary>Writes a random engine model of <paramref name="config"/> as an HF checkpoint (F32) into <paramref name="directory"/>.</summary>
    public static LlamaForCausalLM WriteCheckpoint(LlamaConfig config, string directory, ulong seed = 3)
    {
        var model = new LlamaForCausalLM(config, new Peft.Net.Core.TensorRandom(seed));
        model.SavePretrained(directory);
        return model;
    }

    /// <summary>Rows of ids of different lengths, as a user's batch: the prompt lengths the tests run separately.</summary>
    public static int[][] Prompts(int vocab) =>
    [
        new[] { 256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100 }.Select(i => i % vocab).ToArray(),
        new[] { 256, 7, 200, 13 }.Select(i => i % vocab).ToArray(),
        Enumerable.Range(0, 23).Select(i => (i * 37 + 256) % vocab).ToArray(),
    ];

    /// <summary>The engine's logits [T, V] of one sequence, flattened.</summary>
    public static float[] EngineLogits(LlamaForCausalLM model, int[] ids)
    {
        using var noGrad = ETensor.NoGrad();
        model.Eval();
        return model.Forward(ids, 1, ids.Length).ToArray();
    }

    /// <summary>The TorchSharp model's logits [T, V] of one sequence, flattened.</summary>
    public static float[] TorchLogits(TorchLlamaForCausalLM model, int[] ids)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var input = torch.tensor(ids.Select(i => (long)i).ToArray(), [1, ids.Length]);
        return model.forward(input).contiguous().data<float>().ToArray();
    }

    /// <summary>Asserts max |actual − expected| ≤ <paramref name="relative"/> · max |expected|.</summary>
    public static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0, worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(float.IsFinite(actual[i]), $"{what}: value {i} is {actual[i]}");
            scale = Math.Max(scale, Math.Abs(expected[i]));
            double diff = Math.Abs(actual[i] - (double)expected[i]);
            if (diff > worst) (worst, at) = (diff, i);
        }
        Assert.True(scale > 0, $"{what}: the expected values are all zero");
        Assert.True(worst <= relative * scale,
            $"{what}: max |diff| {worst:E3} at {at} (expected {expected[Math.Max(at, 0)]}, got {actual[Math.Max(at, 0)]}) exceeds {relative:E0} × scale {scale:E3}");
    }
}

/// <summary>
/// Before any test touches LibTorch: OpenMP threads that sleep rather than spin while waiting (see
/// <see cref="OpenMpWaitPolicy"/>); test assemblies run side by side on few cores, where spinning costs 10–100×.
/// </summary>
internal static class TorchLlamaTestSetup
{
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void PreferPassiveOpenMp() => OpenMpWaitPolicy.PreferPassive();
}

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TorchLlamaTempDirectory : IDisposable
{
    public TorchLlamaTempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "peft-torchllama-" + Guid.NewGuid().ToString("N"));

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}
