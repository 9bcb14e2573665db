using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Families;

/// <summary>Qwen3, Gemma 2, Gemma 3 and Phi-3 against the PyTorch implementation in tests/fixtures/make_families.py.</summary>
public class FamilyGoldenTests
{
    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void BatchLogitsMatchPyTorch(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        var expected = FamilyFixtures.Expected(variant);
        var ids = FamilyFixtures.Flatten(expected, "batch_ids");
        using var _ = Tensor.NoGrad();
        var logits = model.Forward(ids, 2, ids.Length / 2);
        Assert.Equal([2, ids.Length / 2, 256], logits.ShapeArray());
        TensorAssert.CloseToScale(expected.Data("batch_logits"), logits.AsSpan(), 1e-4, $"{variant} logits");
    }

    /// <summary>40 positions: beyond every sliding window, and beyond Phi-3's original context (its long factors).</summary>
    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void LongSequenceLogitsMatchPyTorch(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        var expected = FamilyFixtures.Expected(variant);
        var ids = FamilyFixtures.Flatten(expected, "long_ids");
        using var _ = Tensor.NoGrad();
        TensorAssert.CloseToScale(expected.Data("long_logits"), model.Forward(ids, 1, ids.Length).AsSpan(), 1e-4, $"{variant} long logits");
    }

    /// <summary>A left-padded batch with transformers' attention mask: the logits of every real token match.</summary>
    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void LeftPaddedBatchLogitsMatchPyTorchAtEveryRealToken(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        var expected = FamilyFixtures.Expected(variant);
        var ids = FamilyFixtures.Flatten(expected, "padded_ids");
        var mask = FamilyFixtures.Flatten(expected, "padded_mask");
        int batch = FamilyFixtures.Rows(expected, "padded_ids").Length, time = ids.Length / batch;
        Assert.Contains(0, mask);
        using var _ = Tensor.NoGrad();
        var logits = model.Forward(ids, batch, time, mask).AsSpan();
        var reference = expected.Data("padded_logits");
        var kept = new List<float>();
        var keptReference = new List<float>();
        for (int row = 0; row < batch * time; row++)
        {
            if (mask[row] == 0) continue;
            kept.AddRange(logits.Slice(row * 256, 256).ToArray());
            keptReference.AddRange(reference.AsSpan(row * 256, 256).ToArray());
        }
        TensorAssert.CloseToScale(keptReference.ToArray(), kept.ToArray(), 1e-4, $"{variant} padded logits");
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void GreedyContinuationEqualsPyTorchWithAndWithoutCache(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        var expected = FamilyFixtures.Expected(variant);
        var prompt = FamilyFixtures.Ints(expected, "prompt");
        var greedy = FamilyFixtures.Ints(expected, "greedy");
        Assert.Equal(greedy, model.Generate(prompt, new GenerationOptions { MaxNewTokens = 32, StopTokens = [] }));
        Assert.Equal(greedy, model.Generate(prompt, new GenerationOptions { MaxNewTokens = 32, StopTokens = [], UseCache = false }));
    }

    /// <summary>
    /// Gemma 2's checkpoint is BF16, so √48 = 6.9282 is rounded to 6.9375 as transformers does; loaded as F32 the
    /// multiplier stays 6.9282 (as transformers in float32), which moves the logits away from the BF16 reference.
    /// </summary>
    [Fact]
    public void Gemma2EmbeddingScaleIsRoundedToTheCheckpointDtype()
    {
        var expected = FamilyFixtures.Expected("gemma2");
        var ids = FamilyFixtures.Flatten(expected, "batch_ids");
        var asF32 = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("gemma2"), DType.F32);
        using var _ = Tensor.NoGrad();
        var logits = asF32.Forward(ids, 2, ids.Length / 2).ToArray();
        var reference = expected.Data("batch_logits");
        double worst = logits.Zip(reference, (a, b) => Math.Abs(a - b)).Max();
        double scale = reference.Max(Math.Abs);
        Assert.True(worst > 1e-3 * scale, $"the F32 multiplier should change the logits; largest difference {worst} of scale {scale}");
    }

    [Fact]
    public void FamilyModulesCarryHuggingFaceNames()
    {
        var gemma3 = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("gemma3")).StateDict().Keys.ToHashSet();
        Assert.Contains("model.layers.0.self_attn.q_norm.weight", gemma3);
        Assert.Contains("model.layers.0.pre_feedforward_layernorm.weight", gemma3);
        Assert.Contains("model.layers.3.post_feedforward_layernorm.weight", gemma3);
        var phi3 = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder("phi3")).StateDict().Keys.ToHashSet();
        Assert.Contains("model.layers.1.self_attn.qkv_proj.weight", phi3);
        Assert.Contains("model.layers.1.mlp.gate_up_proj.weight", phi3);
        Assert.DoesNotContain("model.layers.1.self_attn.q_proj.weight", phi3);
        Assert.DoesNotContain("model.layers.1.mlp.gate_proj.weight", phi3);
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void SavePretrainedRoundTripsTheFamily(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        using var folder = new TempFolder();
        model.SavePretrained(folder.Path);
        var loaded = LlamaForCausalLM.FromPretrained(folder.Path);
        Assert.Equal(model.Config.ModelType, loaded.Config.ModelType);
        Assert.Equal(model.Config.LayerTypes, loaded.Config.LayerTypes);
        var ids = FamilyFixtures.Flatten(FamilyFixtures.Expected(variant), "long_ids");
        using var _ = Tensor.NoGrad();
        TensorAssert.BitEqual(model.Forward(ids, 1, ids.Length).AsSpan(), loaded.Forward(ids, 1, ids.Length).AsSpan(), $"{variant} after SavePretrained");
    }
}
