using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Models.Tests.Training;
using Peft.Net.Models.Training;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Tests.Families;

/// <summary>LoRA and QLoRA training of each new family's checkpoint, and adapters that save with PEFT's keys and load back.</summary>
public class FamilyTrainingTests
{
    private static readonly TrainerOptions Options = new() { MaxSteps = 20, BatchSize = 4, LearningRate = 5e-2, WarmupSteps = 2, Seed = 3 };

    /// <summary>Variable-length sequences over the real 256-id vocabulary that follow a learnable rule.</summary>
    private static List<TokenizedExample> Data() => TinyLanguageModel.Data(32, 14, vocab: 256, seed: 5);

    private static LlamaForCausalLM WithLora(string variant, bool loadIn4Bit)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant), loadIn4Bit: loadIn4Bit);
        model.ApplyLora(rank: 4, alpha: 8, dropout: 0.1f, targetModules: FamilyFixtures.LoraTargets(variant), seed: 2);
        return model;
    }

    /// <summary>Mean loss over the examples, one at a time, in evaluation mode.</summary>
    private static double Loss(LlamaForCausalLM model, IReadOnlyList<TokenizedExample> data)
    {
        bool training = model.IsTraining;
        model.Eval();
        using var _ = Tensor.NoGrad();
        double total = data.Average(e => (double)model.Loss(e.InputIds, e.Labels, 1, e.InputIds.Length).Item());
        model.Train(training);
        return total;
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void LoraTrainingLowersTheLossAndTheAdapterLoadsBackWithPeftKeys(string variant)
    {
        var data = Data();
        var model = WithLora(variant, loadIn4Bit: false);
        var targets = FamilyFixtures.LoraTargets(variant);
        int layers = model.Config.NumHiddenLayers;
        Assert.Equal(layers * targets.Length * 2, model.TrainableParameters().Count());
        double before = Loss(model, data);
        new Trainer(model, data, Options).Train();
        double after = Loss(model, data);
        Assert.True(after < 0.9 * before, $"{variant}: loss {before} → {after}");

        using var folder = new TempFolder();
        model.SaveAdapter(folder.Path);
        var keys = Safetensors.Load(Path.Combine(folder.Path, "adapter_model.safetensors")).Keys.ToHashSet();
        string module = variant == "phi3" ? "self_attn.qkv_proj" : "self_attn.q_proj";
        Assert.Contains($"base_model.model.model.layers.{layers - 1}.{module}.lora_A.weight", keys);
        Assert.Contains($"base_model.model.model.layers.0.{module}.lora_B.weight", keys);
        if (variant == "phi3") Assert.Contains("base_model.model.model.layers.0.mlp.gate_up_proj.lora_B.weight", keys);
        Assert.Equal(layers * targets.Length * 2, keys.Count);

        var loaded = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant));
        loaded.LoadAdapter(folder.Path);
        int[] ids = [.. data[0].InputIds];
        model.Eval();
        using var _ = Tensor.NoGrad();
        TensorAssert.BitEqual(model.Forward(ids, 1, ids.Length).AsSpan(), loaded.Forward(ids, 1, ids.Length).AsSpan(), $"{variant} adapter reloaded");
    }

    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void QLoraTrainingOnTheFourBitCheckpointLowersTheLoss(string variant)
    {
        var data = Data();
        var model = WithLora(variant, loadIn4Bit: true);
        var quantized = model.NamedModules().Count(m => m.Module is Nf4Linear);
        Assert.True(quantized >= model.Config.NumHiddenLayers * 4, $"{variant}: {quantized} NF4 layers");
        double before = Loss(model, data);
        new Trainer(model, data, Options).Train();
        double after = Loss(model, data);
        Assert.True(after < 0.9 * before, $"{variant}: QLoRA loss {before} → {after}");
    }

    /// <summary>
    /// The gradient of the LoRA B matrices (through soft-capping, windows, q/k norms, the fused projections and
    /// partial rotary) against central differences of the loss, in float32 on an F32 copy of the checkpoint.
    /// </summary>
    [Theory]
    [MemberData(nameof(FamilyFixtures.Variants), MemberType = typeof(FamilyFixtures))]
    public void LoraGradientsMatchFiniteDifferences(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(FamilyFixtures.Folder(variant), DType.F32);
        model.ApplyLora(rank: 2, alpha: 4, targetModules: FamilyFixtures.LoraTargets(variant), init: LoraInit.Gaussian, seed: 4);
        model.Train();
        var ids = FamilyFixtures.Flatten(FamilyFixtures.Expected(variant), "long_ids")[..12];
        var labels = ids.ToArray();
        labels[0] = labels[1] = -100;
        var (name, b) = model.NamedParameters().First(p => p.Name.Contains("layers.0.") && p.Name.EndsWith("lora_B.default.weight", StringComparison.Ordinal)
                                                            || p.Name.Contains("layers.0.") && p.Name.EndsWith("lora_B.weight", StringComparison.Ordinal));
        // Give B values so that the adapter is live, then compare a few coordinates.
        var values = b.AsSpan();
        for (int i = 0; i < values.Length; i++) values[i] = 0.05f * MathF.Sin(i + 1);
        model.ZeroGrad();
        model.Loss(ids, labels, 1, ids.Length).Backward();
        var gradient = b.Grad!.ToArray();
        foreach (int index in new[] { 0, values.Length / 3, values.Length - 1 })
        {
            float saved = values[index];
            const float h = 1e-2f;
            double Loss(float value)
            {
                b.AsSpan()[index] = value;
                using var _ = Tensor.NoGrad();
                return model.Loss(ids, labels, 1, ids.Length).Item();
            }
            double numeric = (Loss(saved + h) - Loss(saved - h)) / (2 * h);
            values[index] = saved;
            double tolerance = 2e-3 + 0.02 * Math.Abs(numeric);
            Assert.True(Math.Abs(numeric - gradient[index]) <= tolerance,
                $"{variant} {name}[{index}]: autograd {gradient[index]}, finite differences {numeric}");
        }
    }
}
