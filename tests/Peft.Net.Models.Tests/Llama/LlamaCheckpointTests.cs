using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Tests.Llama;

public class LlamaCheckpointTests
{
    private static readonly int[] Ids = [1, 7, 3, 9, 11, 2];

    private static float[] Logits(LlamaForCausalLM model)
    {
        using var _ = Tensor.NoGrad();
        return model.Forward(Ids, 2, 3).ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SavePretrainedThenFromPretrainedGivesTheSameModel(bool tied)
    {
        using var folder = new TempFolder();
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(tied, tied ? "qwen2" : "llama"), new TensorRandom(11));
        model.SavePretrained(folder.Path);
        Assert.Equal(["config.json", "model.safetensors"], folder.FileNames());

        var loaded = LlamaForCausalLM.FromPretrained(folder.Path);
        Assert.Equal(model.Config with { TorchDType = DType.F32, HeadDim = 8 }, loaded.Config with { EosTokenIds = model.Config.EosTokenIds });
        Assert.Equal(model.Config.EosTokenIds, loaded.Config.EosTokenIds);
        TensorAssert.BitEqual(Logits(model), Logits(loaded), "logits after the round trip");

        var saved = Safetensors.Load(folder.File("model.safetensors"));
        Assert.Equal(!tied, saved.ContainsKey("lm_head.weight"));
        var expectedKeys = model.StateDict().Keys.Where(k => !(tied && k == "lm_head.weight")).Order(StringComparer.Ordinal);
        Assert.Equal(expectedKeys, saved.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SavePretrainedInBf16WritesEveryTensorAndTheConfigInBf16()
    {
        using var folder = new TempFolder();
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("llama-bf16"));
        model.SavePretrained(folder.Path);
        Assert.All(Safetensors.Load(folder.File("model.safetensors")).Values, t => Assert.Equal(DType.BF16, t.DType));
        using var config = JsonDocument.Parse(File.ReadAllText(folder.File("config.json")));
        Assert.Equal("bfloat16", config.RootElement.GetProperty("torch_dtype").GetString());
        Assert.True(config.RootElement.GetProperty("tie_word_embeddings").GetBoolean());
        // Norm weights went F32 → BF16 → F32: exact, because they came from BF16.
        TensorAssert.BitEqual(Logits(model), Logits(LlamaForCausalLM.FromPretrained(folder.Path)), "bf16 round trip");
    }

    [Fact]
    public void LoadingAsF16StoresTheMatricesInF16AndSavesAnF16Checkpoint()
    {
        using var folder = new TempFolder();
        var reference = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("qwen2"));
        var half = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("qwen2"), DType.F16);
        var state = half.StateDict();
        Assert.Equal(DType.F16, state["model.layers.0.mlp.up_proj.weight"].DType);
        Assert.Equal(DType.F32, state["model.layers.0.self_attn.q_proj.bias"].DType);
        // F16 rounding of the weights (relative 2⁻¹¹) moves the logits only slightly.
        TensorAssert.CloseToScale(Logits(reference), Logits(half), 5e-3, "F16 weights");

        half.SavePretrained(folder.Path);
        Assert.All(Safetensors.Load(folder.File("model.safetensors")).Values, t => Assert.Equal(DType.F16, t.DType));
        // The file holds the F32 norms and biases rounded to F16 too, as a Hugging Face F16 checkpoint does.
        TensorAssert.CloseToScale(Logits(half), Logits(LlamaForCausalLM.FromPretrained(folder.Path)), 5e-3, "F16 round trip");
    }

    [Fact]
    public void ShardedCheckpointsLoadThroughTheIndex()
    {
        using var folder = new TempFolder();
        var source = LlamaFixtures.Folder("llama");
        File.Copy(Path.Combine(source, "config.json"), folder.File("config.json"));
        var tensors = Safetensors.Load(Path.Combine(source, "model.safetensors"));
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var first = names.Take(names.Count / 2).ToHashSet();
        Safetensors.Save(folder.File("model-00001-of-00002.safetensors"), tensors.Where(p => first.Contains(p.Key)).ToDictionary());
        Safetensors.Save(folder.File("model-00002-of-00002.safetensors"), tensors.Where(p => !first.Contains(p.Key)).ToDictionary());
        var map = names.ToDictionary(n => n, n => first.Contains(n) ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
        File.WriteAllText(folder.File("model.safetensors.index.json"), JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = map }));

        TensorAssert.BitEqual(Logits(LlamaForCausalLM.FromPretrained(source)), Logits(LlamaForCausalLM.FromPretrained(folder.Path)), "sharded");
    }

    [Fact]
    public void LoadIn4BitQuantizesEveryLinearLayerButTheHead()
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("llama"), loadIn4Bit: true);
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.IsType<Nf4Linear>(modules["model.layers.0.self_attn.q_proj"]);
        Assert.IsType<Nf4Linear>(modules["model.layers.1.mlp.down_proj"]);
        Assert.IsType<Core.Nn.Linear>(modules["lm_head"]);
        var reference = Logits(LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("llama")));
        var quantized = Logits(model);
        // 4-bit weights perturb the logits, but they stay strongly correlated with the full-precision ones.
        double dot = 0, a2 = 0, b2 = 0;
        for (int i = 0; i < reference.Length; i++) { dot += reference[i] * quantized[i]; a2 += reference[i] * reference[i]; b2 += quantized[i] * quantized[i]; }
        Assert.InRange(dot / Math.Sqrt(a2 * b2), 0.95, 1.0);
        using var folder = new TempFolder();
        var error = Assert.Throws<InvalidOperationException>(() => model.SavePretrained(folder.Path));
        Assert.Contains("dequantize", error.Message);
        Assert.Empty(folder.FileNames());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_checkpoint_in_the_bitsandbytes_4bit_layout_loads_with_its_linear_layers_still_4bit(bool doubleQuant)
    {
        // What transformers + bitsandbytes save for a 4-bit model: every quantized weight as packed U8 plus its
        // absmax / quant_map / (nested) / quant_state parts, the rest as plain tensors.
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(false, "llama"), new TensorRandom(13));
        model.QuantizeNf4(doubleQuant: doubleQuant);
        using var folder = new TempFolder();
        model.Config.Save(folder.File("config.json"));
        var state = model.StateDict();
        Assert.Contains(state.Keys, k => k.EndsWith(".q_proj.weight.quant_state.bitsandbytes__nf4", StringComparison.Ordinal));
        Safetensors.Save(folder.File("model.safetensors"), state);

        var loaded = LlamaForCausalLM.FromPretrained(folder.Path);
        var modules = loaded.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var q = Assert.IsType<Nf4Linear>(modules["model.layers.0.self_attn.q_proj"]);
        Assert.Equal(doubleQuant, q.Weight.IsDoubleQuantized);
        Assert.IsType<Core.Nn.Linear>(modules["lm_head"]);
        TensorAssert.BitEqual(Logits(model), Logits(loaded), "logits of the reloaded 4-bit checkpoint");
    }

    [Fact]
    public void A_4bit_weight_whose_shape_disagrees_with_the_config_is_named_in_the_error()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(false, "llama"), new TensorRandom(13));
        model.QuantizeNf4();
        using var folder = new TempFolder();
        (model.Config with { IntermediateSize = model.Config.IntermediateSize * 2 }).Save(folder.File("config.json"));
        Safetensors.Save(folder.File("model.safetensors"), model.StateDict());
        var error = Assert.Throws<InvalidDataException>(() => LlamaForCausalLM.FromPretrained(folder.Path));
        Assert.Matches(@"model\.safetensors: tensor 'model\.layers\.\d+\.mlp\.(gate|up|down)_proj\.weight' is a 4-bit weight of shape \[\d+, \d+\], the config needs", error.Message);
    }
}
