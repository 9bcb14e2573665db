using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

/// <summary>DoRA on an input embedding through model surgery and the adapter files (magnitude over the embedding dim).</summary>
public sealed class DoraEmbeddingAdapterTests : IDisposable
{
    private const string Embed = "model.embed_tokens";
    private const string MagnitudeFileKey = "base_model.model.model.embed_tokens.lora_magnitude_vector";

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static readonly int[,] Ids = AdapterTestData.Ids;

    private string Folder(string name) => Directory.CreateDirectory(_folder.File(name)).FullName;

    /// <summary>A model with DoRA on q_proj and the embedding, random A/B, and a magnitude moved away from its initial norms.</summary>
    private static TinyCausalLm Trained(string adapterName = "default", ulong seed = 5)
    {
        var model = new TinyCausalLm(seed: 13);
        model.ApplyLora(new LoraConfig { R = 3, LoraAlpha = 6, TargetModules = ["q_proj", "embed_tokens"], UseDora = true }, adapterName);
        AdapterTestData.Randomize(model, adapterName, seed);
        var magnitude = ((LoraEmbedding)model.GetSubmodule(Embed)).GetMagnitude(adapterName)!.AsSpan();
        for (int i = 0; i < magnitude.Length; i++) magnitude[i] *= 1 + 0.05f * (i % 5);
        return model;
    }

    [Fact]
    public void SurgeryPutsAMagnitudeOverTheEmbeddingDimOnTheEmbedding()
    {
        var model = new TinyCausalLm();
        model.ApplyDora(rank: 2, alpha: 4, targetModules: ["embed_tokens"]);
        var layer = Assert.IsType<LoraEmbedding>(model.GetSubmodule(Embed));
        Assert.True(layer.GetOptions("default").UseDora);
        Assert.Equal([TinyCausalLm.Hidden], layer.GetMagnitude("default")!.ShapeArray());
        Assert.Contains("model.embed_tokens.lora_magnitude_vector.default.weight", AdapterTestData.TrainableNames(model));
    }

    [Fact]
    public void TheFileNamesTheEmbeddingMagnitudeAsPeftDoes()
    {
        var model = Trained();
        string dir = Folder("keys");
        model.SaveAdapter(dir);
        using var file = SafetensorsFile.Open(Path.Combine(dir, AdapterFiles.WeightsFile));
        var names = file.Entries.Select(e => e.Name).ToHashSet();
        Assert.Contains(MagnitudeFileKey, names);
        Assert.Contains("base_model.model.model.embed_tokens.lora_embedding_A", names);
        Assert.Contains("base_model.model.model.embed_tokens.lora_embedding_B", names);
        Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", names);
        Assert.DoesNotContain(names, n => n.EndsWith(".default", StringComparison.Ordinal) || n.Contains(".default.", StringComparison.Ordinal));
        Assert.DoesNotContain(names, n => n.Contains("lora_magnitude_vector.weight", StringComparison.Ordinal));
        Assert.Equal([TinyCausalLm.Hidden], file.Entries.Single(e => e.Name == MagnitudeFileKey).ShapeArray());
        var saved = file.ReadTensorAsFloat32(MagnitudeFileKey).ToArray();
        TensorAssert.BitEqual(((LoraEmbedding)model.GetSubmodule(Embed)).GetMagnitude("default")!.ToArray(), saved, "saved magnitude");
    }

    [Theory]
    [InlineData("default")]
    [InlineData("tuned")]
    public void SaveThenLoadRestoresTheEmbeddingMagnitudeAndTheOutputs(string adapterName)
    {
        var trained = Trained(adapterName);
        trained.Eval();
        var expected = trained.Logits(Ids).ToArray();
        var magnitude = ((LoraEmbedding)trained.GetSubmodule(Embed)).GetMagnitude(adapterName)!.ToArray();
        string dir = Folder("roundtrip-" + adapterName);
        trained.SaveAdapter(dir, adapterName);

        var fresh = new TinyCausalLm(seed: 13);
        fresh.Eval();
        var baseLogits = fresh.Logits(Ids).ToArray();
        var config = fresh.LoadAdapter(dir, "loaded");
        fresh.Eval();
        Assert.True(config.UseDora);
        var layer = Assert.IsType<LoraEmbedding>(fresh.GetSubmodule(Embed));
        TensorAssert.BitEqual(magnitude, layer.GetMagnitude("loaded")!.ToArray(), "reloaded embedding magnitude");
        TensorAssert.BitEqual(expected, fresh.Logits(Ids).ToArray(), "reloaded DoRA-embedding adapter");
        Assert.NotEqual(baseLogits, expected);   // the adapter (embedding magnitude included) changes the output

        // merged, the embedding's DoRA still gives the same outputs (up to rounding)
        fresh.MergeAndUnload();
        TensorAssert.Close(expected, fresh.Logits(Ids).ToArray(), atol: 2e-5, rtol: 2e-5, what: "merged after reload");
    }

    [Fact]
    public void AFileWithoutTheEmbeddingMagnitudeIsRejectedNamingTheKey()
    {
        var trained = Trained();
        string dir = Folder("missing");
        trained.SaveAdapter(dir);
        string weights = Path.Combine(dir, AdapterFiles.WeightsFile);
        var tensors = Safetensors.Load(weights);
        tensors.Remove(MagnitudeFileKey);
        Safetensors.Save(weights, tensors, AdapterFiles.Metadata);

        var fresh = new TinyCausalLm(seed: 13);
        var error = Assert.Throws<AdapterFormatException>(() => fresh.LoadAdapter(dir));
        Assert.Contains(MagnitudeFileKey, error.Message);
        Assert.Empty(PeftModelExtensions.LoraLayers(fresh));   // left as it was
    }
}
