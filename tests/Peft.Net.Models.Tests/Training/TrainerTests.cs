using System.Xml.Linq;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Training;

public sealed class TrainerTests
{
    private static TrainerOptions Options(int steps, string? output = null) => new()
    {
        MaxSteps = steps,
        BatchSize = 4,
        LearningRate = 0.05,
        WarmupSteps = 2,
        OutputDirectory = output,
        Seed = 3,
    };

    private static float[] Snapshot(TinyLanguageModel model) =>
        model.TrainableParameters().SelectMany(p => p.AsSpan().ToArray()).ToArray();

    [Fact]
    public void Loss_decreases_on_a_learnable_task()
    {
        var model = new TinyLanguageModel();
        var (train, eval) = ExampleBuilder.Split(TinyLanguageModel.Data(48, 12), 0.15, seed: 3);
        var trainer = new Trainer(model, train, Options(40) with { EvalEvery = 20 }, eval);
        double before = trainer.Evaluate();

        var result = trainer.Train();

        Assert.Equal(40, result.Steps);
        Assert.False(result.Cancelled);
        Assert.True(result.FinalEvalLoss < 0.5 * before, $"eval loss {before} → {result.FinalEvalLoss}");
        Assert.True(trainer.History[^1].Loss < 0.5 * trainer.History[0].Loss, $"train loss {trainer.History[0].Loss} → {trainer.History[^1].Loss}");
        Assert.Equal(2, trainer.History.Count(e => e.EvalLoss is not null));
        Assert.All(trainer.History, e => Assert.True(e.TokensPerSecond > 0));
    }

    [Fact]
    public void Two_accumulated_micro_batches_of_two_equal_one_batch_of_four()
    {
        var data = TinyLanguageModel.Data(16, 10);
        float[] Run(int batch, int accumulation)
        {
            var model = new TinyLanguageModel();
            var optimizer = new Sgd(model.TrainableParameters(), learningRate: 1.0);
            var options = Options(2) with { BatchSize = batch, GradientAccumulationSteps = accumulation, MaxGradNorm = 0, WarmupSteps = 0, Schedule = LrScheduleKind.Constant };
            new Trainer(model, data, options, optimizer: optimizer).Train();
            return Snapshot(model);
        }

        var whole = Run(4, 1);
        var accumulated = Run(2, 2);
        var initial = Snapshot(new TinyLanguageModel());

        Assert.True(whole.Zip(initial).Max(p => Math.Abs(p.First - p.Second)) > 1e-3, "the steps must move the parameters");
        Assert.All(whole.Zip(accumulated), p => Assert.Equal(p.First, p.Second, 1e-5f));
    }

    [Fact]
    public void Prompt_completion_examples_mask_the_prompt_and_padding()
    {
        var example = ExampleBuilder.PromptCompletion([5, 6, 7], [8, 9], eosTokenId: 2, maxLength: 16);
        Assert.Equal([5, 6, 7, 8, 9, 2], example.InputIds);
        Assert.Equal([-100, -100, -100, 8, 9, 2], example.Labels);
        var truncated = ExampleBuilder.PromptCompletion([5, 6, 7], [8, 9], eosTokenId: 2, maxLength: 4);
        Assert.Equal([5, 6, 7, 8], truncated.InputIds);
        Assert.Equal([-100, -100, -100, 8], truncated.Labels);

        var batch = TrainingBatch.Collate([example, truncated], padTokenId: 0);
        Assert.Equal(6, batch.Time);
        Assert.Equal([5, 6, 7, 8, 0, 0], batch.InputIds[6..]);
        Assert.Equal([-100, -100, -100, 8, -100, -100], batch.Labels[6..]);
        Assert.Equal(10, batch.TokenCount);
        Assert.Equal(4, batch.LossTokenCount);

        // The loss only sees the completion: changing the prompt's ids under its −100 labels changes the context but
        // a loss over a batch whose completion labels are all masked is exactly zero with a zero gradient.
        var model = new TinyLanguageModel();
        var promptOnly = ExampleBuilder.PromptCompletion([5, 6, 7, 8, 9], [], eosTokenId: null, maxLength: 16);
        var loss = ((ICausalLanguageModel)model).Loss(promptOnly.InputIds, promptOnly.Labels, 1, promptOnly.Length);
        Assert.Equal(0f, loss.AsSpan()[0]);

        // With completion labels, the loss equals the mean cross-entropy over the completion positions alone.
        var full = ((ICausalLanguageModel)model).Loss(batch.InputIds.AsSpan(0, 6), batch.Labels.AsSpan(0, 6), 1, 6).AsSpan()[0];
        var unmasked = (int[])example.InputIds.Clone();
        var perPosition = new float[3];
        for (int k = 0; k < 3; k++)
        {
            var single = Enumerable.Repeat(-100, 6).ToArray();
            single[3 + k] = unmasked[3 + k];
            perPosition[k] = ((ICausalLanguageModel)model).Loss(example.InputIds, single, 1, 6).AsSpan()[0];
        }
        Assert.Equal(perPosition.Average(), full, 1e-5f);
    }

    [Fact]
    public void Plain_text_is_packed_into_chunks()
    {
        var chunks = ExampleBuilder.PackText(Enumerable.Range(0, 11).ToArray(), 4);
        Assert.Equal(3, chunks.Count);
        Assert.Equal([8, 9, 10], chunks[2].InputIds);
        Assert.Equal(chunks[1].InputIds, chunks[1].Labels);
        Assert.Equal(2, ExampleBuilder.PackText(Enumerable.Range(0, 9).ToArray(), 4).Count); // a 1-token tail is dropped
    }

    [Fact]
    public void Resuming_a_cancelled_run_gives_the_same_loss_curve_bit_for_bit()
    {
        using var folder = new TempDirectory();
        var (train, eval) = ExampleBuilder.Split(TinyLanguageModel.Data(20, 10), 0.2, seed: 3);
        var options = Options(10) with { EvalEvery = 3, Schedule = LrScheduleKind.Cosine, WarmupSteps = 3 };

        var straight = new TinyLanguageModel { Noise = new TensorRandom(11) };
        var straightTrainer = new Trainer(straight, train, options, eval);
        straightTrainer.Train();

        var first = new TinyLanguageModel { Noise = new TensorRandom(11) };
        using var cancel = new CancellationTokenSource();
        var firstTrainer = new Trainer(first, train, options with { OutputDirectory = folder.Path, CheckpointEvery = 5 }, eval);
        firstTrainer.CheckpointedRandomGenerators.Add(first.Noise!);
        var stopped = firstTrainer.Train(new SyncProgress(p => { if (p.Step == 5) cancel.Cancel(); }), cancel.Token);
        Assert.True(stopped.Cancelled);
        Assert.Equal(5, stopped.Steps);
        Assert.Equal(Path.Combine(folder.Path, "checkpoint-5"), stopped.LastCheckpoint);

        var resumed = new TinyLanguageModel { Noise = new TensorRandom(11) };
        var resumedTrainer = new Trainer(resumed, train, options, eval);
        resumedTrainer.CheckpointedRandomGenerators.Add(resumed.Noise!);
        resumedTrainer.Resume(stopped.LastCheckpoint!);
        Assert.Equal(5, resumedTrainer.Step);
        resumedTrainer.Train();

        Assert.Equal(10, resumedTrainer.History.Count);
        for (int i = 0; i < 10; i++)
        {
            var a = straightTrainer.History[i];
            var b = resumedTrainer.History[i];
            Assert.Equal(BitConverter.DoubleToInt64Bits(a.Loss), BitConverter.DoubleToInt64Bits(b.Loss));
            Assert.Equal(a.EvalLoss, b.EvalLoss);
            Assert.Equal(a.LearningRate, b.LearningRate);
        }
        Assert.Equal(Snapshot(straight).Select(BitConverter.SingleToInt32Bits), Snapshot(resumed).Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Cancellation_stops_at_a_step_boundary_and_writes_a_checkpoint()
    {
        using var folder = new TempDirectory();
        using var cancel = new CancellationTokenSource();
        var trainer = new Trainer(new TinyLanguageModel(), TinyLanguageModel.Data(16, 8), Options(20, folder.Path));
        var result = trainer.Train(new SyncProgress(p => { if (p.Step == 3) cancel.Cancel(); }), cancel.Token);

        Assert.True(result.Cancelled);
        Assert.Equal(3, result.Steps);
        Assert.Equal(3, trainer.History.Count);
        var checkpoint = Path.Combine(folder.Path, "checkpoint-3");
        Assert.Equal(checkpoint, result.LastCheckpoint);
        Assert.True(File.Exists(Path.Combine(checkpoint, Trainer.ParametersFileName)));
        Assert.True(File.Exists(Path.Combine(checkpoint, Trainer.OptimizerFileName)));
        Assert.Contains("\"step\": 3", File.ReadAllText(Path.Combine(checkpoint, "trainer_state.json")));
    }

    [Fact]
    public void A_non_finite_loss_skips_the_step_without_touching_the_parameters()
    {
        var model = new TinyLanguageModel();
        model.NanCalls.Add(2);
        var snapshots = new List<float[]>();
        var skipped = new List<bool>();
        var trainer = new Trainer(model, TinyLanguageModel.Data(16, 8), Options(5));
        var result = trainer.Train(new SyncProgress(p => { snapshots.Add(Snapshot(model)); skipped.Add(p.Skipped); }));

        Assert.Equal(5, result.Steps);
        Assert.Equal(1, result.SkippedSteps);
        Assert.Equal([false, false, true, false, false], skipped);
        Assert.Equal(snapshots[1], snapshots[2]);
        Assert.NotEqual(snapshots[2], snapshots[3]);
        Assert.True(double.IsNaN(trainer.History[2].Loss));
    }

    [Fact]
    public void Too_many_consecutive_non_finite_steps_stop_with_a_clear_error()
    {
        var model = new TinyLanguageModel();
        for (int call = 1; call < 100; call++) model.NanCalls.Add(call);
        var trainer = new Trainer(model, TinyLanguageModel.Data(16, 8), Options(50) with { MaxConsecutiveSkippedSteps = 3 });

        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Train());

        Assert.Equal(4, error.Step);
        Assert.Equal(3, error.ConsecutiveSkips);
        Assert.Contains("3 consecutive steps", error.Message);
        Assert.Contains("loss NaN", error.Message);
    }

    [Fact]
    public void A_checkpoint_folder_appears_only_complete()
    {
        using var folder = new TempDirectory();
        var trainer = new Trainer(new TinyLanguageModel(), TinyLanguageModel.Data(8, 8), Options(2, folder.Path));
        trainer.Train();
        bool sawTemp = false;
        trainer.BeforeCheckpointCommit = temp =>
        {
            sawTemp = true;
            Assert.False(Directory.Exists(Path.Combine(folder.Path, "checkpoint-2")));
            Assert.Equal(3, Directory.GetFiles(temp).Length);
            throw new IOException("disk full (simulated)");
        };

        Assert.Throws<IOException>(() => trainer.SaveCheckpoint());

        Assert.True(sawTemp);
        Assert.Empty(Directory.GetDirectories(folder.Path));
        trainer.BeforeCheckpointCommit = null;
        var written = trainer.SaveCheckpoint();
        Assert.Equal(["checkpoint-2"], Directory.GetDirectories(folder.Path).Select(Path.GetFileName));
        Assert.Equal(3, Directory.GetFiles(written).Length);
    }

    [Fact]
    public void The_csv_log_and_svg_plot_are_written()
    {
        using var folder = new TempDirectory();
        var (train, eval) = ExampleBuilder.Split(TinyLanguageModel.Data(20, 8), 0.2, seed: 1);
        new Trainer(new TinyLanguageModel(), train, Options(6, folder.Path) with { EvalEvery = 3 }, eval).Train();

        var lines = File.ReadAllLines(Path.Combine(folder.Path, TrainingLog.CsvFileName));
        Assert.Equal("step,loss,eval_loss,lr,tokens_per_s", lines[0]);
        Assert.Equal(7, lines.Length);
        Assert.Equal("", lines[1].Split(',')[2]);
        Assert.True(double.Parse(lines[3].Split(',')[2], System.Globalization.CultureInfo.InvariantCulture) > 0);
        var svg = XDocument.Load(Path.Combine(folder.Path, TrainingLog.SvgFileName));
        XNamespace ns = "http://www.w3.org/2000/svg";
        var lines2 = svg.Descendants(ns + "polyline").ToList();
        Assert.Equal(2, lines2.Count);
        Assert.Equal(6, lines2[0].Attribute("points")!.Value.Split(' ').Length);
    }

    [Fact]
    public void Checkpoints_of_an_adapted_model_hold_the_adapter_in_peft_layout()
    {
        using var folder = new TempDirectory();
        var model = new TinyLanguageModel();
        model.ApplyLora(rank: 2, alpha: 4, targetModules: ["head"]);
        var trainer = new Trainer(model, TinyLanguageModel.Data(8, 8), Options(2, folder.Path) with { CheckpointEvery = 2 });

        var result = trainer.Train();

        Assert.Equal(2, model.TrainableParameters().Count());
        Assert.True(File.Exists(Path.Combine(result.LastCheckpoint!, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(result.LastCheckpoint!, "adapter_model.safetensors")));
        var reloaded = new TinyLanguageModel();
        reloaded.LoadAdapter(result.LastCheckpoint!);
        Assert.Equal(Snapshot(model), reloaded.NamedParameters().Where(p => p.Name.Contains("lora_")).SelectMany(p => p.Parameter.AsSpan().ToArray()).ToArray());
    }
}
