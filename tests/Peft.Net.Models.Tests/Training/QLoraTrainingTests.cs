using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models.Training;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Tests.Training;

/// <summary>QLoRA (LoRA over NF4 + double-quantized bases) against float32 LoRA on the same model, data and seed.</summary>
public sealed class QLoraTrainingTests
{
    private const int Steps = 50;

    private static LlamaForCausalLM TinyLlama(bool quantize)
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 32,
        }, new TensorRandom(11));
        if (quantize) model.QuantizeNf4(doubleQuant: true);
        model.ApplyLora(rank: 8, alpha: 16, seed: 3);
        return model;
    }

    private static IReadOnlyList<double> Train(bool quantize)
    {
        var data = TinyLanguageModel.Data(64, 16, seed: 9);
        var trainer = new Trainer(TinyLlama(quantize), data, new TrainerOptions
        {
            MaxSteps = Steps, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 5, Seed = 4,
        });
        trainer.Train();
        return trainer.History.Select(e => e.Loss).ToArray();
    }

    [Fact]
    public void QLoRA_loss_curve_over_50_steps_tracks_float32_LoRA()
    {
        var lora = Train(quantize: false);
        var qlora = Train(quantize: true);

        Assert.Equal(Steps, lora.Count);
        Assert.Equal(Steps, qlora.Count);
        // Both learn: the last five steps average well below the first five.
        Assert.True(lora.TakeLast(5).Average() < 0.8 * lora.Take(5).Average(), $"LoRA did not learn: {string.Join(", ", lora)}");
        Assert.True(qlora.TakeLast(5).Average() < 0.8 * qlora.Take(5).Average(), $"QLoRA did not learn: {string.Join(", ", qlora)}");
        // The 4-bit base changes the curve only by the quantization error: every step within 5 % of float32 LoRA.
        for (int i = 0; i < Steps; i++)
        {
            double relative = Math.Abs(qlora[i] - lora[i]) / lora[i];
            Assert.True(relative <= 0.05, $"step {i + 1}: QLoRA loss {qlora[i]:F4} vs LoRA {lora[i]:F4} ({relative:P1} apart)");
        }
    }
}
