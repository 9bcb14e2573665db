using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models.Training;
using Peft.Net.Optim;

namespace Peft.Net.Models.Tests.Training;

/// <summary>8-bit and paged optimizers in the trainer, with full-trained embeddings and head (modules_to_save).</summary>
public sealed class OptimizerStateTests
{
    private static LlamaForCausalLM Model()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 4096,
            MaxPositionEmbeddings = 64,
        }, new TensorRandom(5));
        model.ApplyLora(rank: 4, alpha: 8, dropout: 0.1f, modulesToSave: ["embed_tokens", "lm_head"], seed: 1);
        return model;
    }

    [Fact]
    public void Eight_bit_state_of_embed_tokens_and_lm_head_is_at_most_30_percent_of_float32()
    {
        var model = Model();
        var parameters = model.TrainableParameters().ToList();
        long fp32 = 8L * parameters.Sum(p => (long)p.Count);
        using var eight = new AdamW8bit(parameters);
        double ratio = (double)eight.StateBytes / fp32;
        Assert.True(ratio <= 0.30, $"8-bit state {eight.StateBytes} bytes is {ratio:P1} of float32's {fp32}");
        Assert.True(ratio > 0.25, $"{ratio:P1}: 2 bytes + absmax per element cannot be under a quarter");
    }

    [Fact]
    public void Paged_8bit_state_survives_a_trainer_checkpoint_and_resumes_bit_for_bit()
    {
        using var folder = new TempDirectory();
        var data = NoisyResumeTests.VariableLengthData(16, 4096, seed: 3);
        var options = new TrainerOptions { MaxSteps = 6, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 1, Seed = 2 };
        AdamW8bit Optimizer(LlamaForCausalLM m) => new(m.TrainableParameters(), 1e-2, weightDecay: 0, paged: true, pagingDirectory: folder.Path);

        var straight = Model();
        using var straightOptimizer = Optimizer(straight);
        Assert.True(straightOptimizer.PagedStateBytes > 0, "lm_head and embed_tokens (131,072 elements each) are paged");
        var straightTrainer = new Trainer(straight, data, options, optimizer: straightOptimizer);
        straightTrainer.Train();

        var first = Model();
        using var firstOptimizer = Optimizer(first);
        using var cancel = new CancellationTokenSource();
        var stopped = new Trainer(first, data, options with { OutputDirectory = Path.Combine(folder.Path, "run") }, optimizer: firstOptimizer)
            .Train(new SyncProgress(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token);

        var resumed = Model();
        using var resumedOptimizer = Optimizer(resumed);
        var resumedTrainer = new Trainer(resumed, data, options, optimizer: resumedOptimizer);
        resumedTrainer.Resume(stopped.LastCheckpoint!);
        resumedTrainer.Train();

        Assert.Equal(straightTrainer.History.Select(e => e.Loss), resumedTrainer.History.Select(e => e.Loss));
        Assert.Equal(
            straight.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits),
            resumed.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).Select(BitConverter.SingleToInt32Bits));
        // The paged files were unlinked at creation: nothing is left in the paging folder but the run's own output.
        if (!OperatingSystem.IsWindows())
            Assert.DoesNotContain(Directory.GetFiles(folder.Path), f => Path.GetFileName(f).StartsWith(".peft-paged", StringComparison.Ordinal));
    }
}
