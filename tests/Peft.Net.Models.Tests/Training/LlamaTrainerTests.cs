using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Training;

/// <summary>The trainer on the real model: a tiny random Llama with LoRA on every linear layer but the head.</summary>
public sealed class LlamaTrainerTests
{
    private static LlamaForCausalLM TinyLlama()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 32,
        }, new TensorRandom(5));
        model.ApplyLora(rank: 4, alpha: 8);
        return model;
    }

    private static TrainerOptions Options(string? output = null) => new()
    {
        MaxSteps = 6, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 2, Seed = 2, OutputDirectory = output, EvalEvery = 3,
    };

    [Fact]
    public void Lora_training_lowers_the_loss_and_resumes_bit_for_bit()
    {
        using var folder = new TempDirectory();
        var (train, eval) = ExampleBuilder.Split(TinyLanguageModel.Data(24, 12), 0.2, seed: 2);

        var straight = TinyLlama();
        var straightTrainer = new Trainer(straight, train, Options(), eval);
        double before = straightTrainer.Evaluate();
        var result = straightTrainer.Train();
        Assert.True(result.FinalEvalLoss < before, $"eval loss {before} → {result.FinalEvalLoss}");

        var first = TinyLlama();
        using var cancel = new CancellationTokenSource();
        var stopped = new Trainer(first, train, Options(folder.Path), eval)
            .Train(new SyncProgress(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token);
        Assert.True(File.Exists(Path.Combine(stopped.LastCheckpoint!, "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(stopped.LastCheckpoint!, "adapter_config.json")));

        var resumed = TinyLlama();
        var resumedTrainer = new Trainer(resumed, train, Options(), eval);
        resumedTrainer.Resume(stopped.LastCheckpoint!);
        resumedTrainer.Train();

        Assert.Equal(straightTrainer.History.Select(e => e.Loss), resumedTrainer.History.Select(e => e.Loss));
        Assert.Equal(straightTrainer.History.Select(e => e.EvalLoss), resumedTrainer.History.Select(e => e.EvalLoss));
        Assert.Equal(
            straight.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits),
            resumed.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Gradient_checkpointing_option_trains_bit_for_bit_like_without_it()
    {
        var (train, eval) = ExampleBuilder.Split(TinyLanguageModel.Data(24, 12), 0.2, seed: 2);
        var plain = TinyLlama();
        var plainTrainer = new Trainer(plain, train, Options(), eval);
        plainTrainer.Train();

        var checkpointed = TinyLlama();
        var checkpointedTrainer = new Trainer(checkpointed, train, Options() with { GradientCheckpointing = true }, eval);
        Assert.True(checkpointed.GradientCheckpointing);
        checkpointedTrainer.Train();

        Assert.Equal(plainTrainer.History.Select(e => e.Loss), checkpointedTrainer.History.Select(e => e.Loss));
        Assert.Equal(plainTrainer.History.Select(e => e.EvalLoss), checkpointedTrainer.History.Select(e => e.EvalLoss));
        Assert.Equal(
            plain.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits),
            checkpointed.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Gradient_checkpointing_option_needs_a_llama_stack()
    {
        var model = new TinyLanguageModel();
        var error = Assert.Throws<ArgumentException>(() =>
            new Trainer(model, TinyLanguageModel.Data(8, 6), Options() with { GradientCheckpointing = true }));
        Assert.Contains("GradientCheckpointing", error.Message);
    }
}
