using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft bench train [--dim 512 --layers 4 --heads 8 --kv-heads 8 --ffn 1376 --vocab 4096 --seq 256 --batch 4 --rank 8
/// --alpha 16 --method lora|dora|qlora --steps 5] [--gradient-checkpointing] [--optim adamw|adamw8bit|paged_adamw8bit|paged_adamw]
/// [--unfused-loss] [--modules-to-save embed_tokens,lm_head] [--json]</c>: a randomly initialised Llama of that shape with the method
/// on every linear layer but the head (QLoRA: built layer by layer in 4-bit, with BF16 embeddings and head); times forward + backward + AdamW step after one warm-up step. Reports tokens/s,
/// ms per step, the process's peak working set (MB) and the trainable parameter count.
/// </summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        Option<int> Int(string name, int value, string description) => new(name) { DefaultValueFactory = _ => value, Description = description };
        var shape = new ModelShapeOptions();
        var seq = Int("--seq", 256, "Sequence length.");
        var batch = Int("--batch", 4, "Sequences per step.");
        var rank = Int("--rank", 8, "LoRA rank.");
        var steps = Int("--steps", 5, "Timed steps (after one warm-up step).");
        var alpha = new Option<float>("--alpha") { DefaultValueFactory = _ => 16f, Description = "lora_alpha." };
        var method = new Option<string>("--method") { DefaultValueFactory = _ => "lora", Description = "lora, dora or qlora (NF4 base)." };
        method.AcceptOnlyFromAmong("lora", "dora", "qlora");
        var checkpointing = new Option<bool>("--gradient-checkpointing") { Description = "Recompute each decoder layer in the backward pass instead of keeping its activations." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var optim = new Option<string>("--optim") { DefaultValueFactory = _ => "adamw", Description = "adamw, adamw8bit, paged_adamw8bit or paged_adamw." };
        optim.AcceptOnlyFromAmong(Train.OptimizerChoice.Names);
        var unfused = new Option<bool>("--unfused-loss") { Description = "Materialise the full [B·T, V] logits (the path before the fused head + cross-entropy), for comparison." };
        var modulesToSave = new Option<string?>("--modules-to-save") { Description = "Comma-separated modules trained in full beside the adapter (e.g. embed_tokens,lm_head)." };
        var command = new Command("train", "Measure LoRA/DoRA/QLoRA training steps (forward + backward + AdamW) on a random Llama-style model.")
        {
            seq, batch, rank, alpha, method, steps, checkpointing, json, optim, unfused, modulesToSave,
        };
        shape.AddTo(command);
        command.SetCliAction((r, console) => Run(console, shape.Read(r, r.GetValue(seq)), r.GetValue(seq), r.GetValue(batch), r.GetValue(rank), r.GetValue(alpha), r.GetValue(method)!, r.GetValue(steps),
            r.GetValue(checkpointing), r.GetValue(json), new BenchTrainExtras(r.GetValue(optim)!, r.GetValue(unfused),
                r.GetValue(modulesToSave)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))));
        return command;
    }

    private static int Run(CliConsole console, LlamaConfig config, int seq, int batch, int rank, float alpha, string method, int steps,
        bool gradientCheckpointing, bool json, BenchTrainExtras extras)
    {
        if (seq < 2 || batch < 1 || rank < 1 || steps < 1)
            throw new CliUserException($"--seq ≥ 2, --batch ≥ 1, --rank ≥ 1 and --steps ≥ 1 are required (got {seq}, {batch}, {rank}, {steps})");
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUserException($"model shape: {e.Message}", e);
        }
        // QLoRA's base is made layer by layer in 4-bit through one reused float32 layer buffer, and its frozen embeddings
        // and head are drawn straight into BF16 (as `peft train --method qlora` holds them from a BF16 checkpoint), so
        // the peak reflects training, not set-up.
        var model = method == "qlora"
            ? new LlamaForCausalLM(config, FourBitQuantization.QLoRA, new TensorRandom(0), unquantizedDType: DType.BF16)
            : new LlamaForCausalLM(config, new TensorRandom(0));
        var summary = method == "dora"
            ? model.ApplyDora(rank: rank, alpha: alpha, targetRegex: "all-linear", modulesToSave: extras.ModulesToSave)
            : model.ApplyLora(rank: rank, alpha: alpha, targetRegex: "all-linear", modulesToSave: extras.ModulesToSave);
        model.FusedLoss = !extras.UnfusedLoss;
        model.GradientCheckpointing = gradientCheckpointing;
        model.Train();
        var random = new TensorRandom(1);
        var ids = new int[batch * seq];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.NextInt(config.VocabSize);
        using var choice = Train.OptimizerChoice.Create(extras.Optim, model.TrainableParameters(), 2e-4, weightDecay: 0.01);
        var optimizer = choice.Optimizer;
        var process = Process.GetCurrentProcess();
        PhaseMeter forward = new(process), backward = new(process), update = new(process);
        void Step()
        {
            forward.Start();
            OpProfile.Mark();
            var loss = model.Loss(ids, ids, batch, seq);
            forward.Stop();
            backward.Start();
            loss.Backward();
            backward.Stop();
            update.Start();
            optimizer.Step();
            optimizer.ZeroGrad();
            update.Stop();
        }

        Step(); // warm-up: first-touch allocations, packed weights, optimizer state
        OpProfile.Reset();
        forward.Reset();
        backward.Reset();
        update.Reset();
        var cpuBefore = process.TotalProcessorTime;
        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var pauseBefore = GC.GetTotalPauseDuration();
        int[] collectionsBefore = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) Step();
        double wallMs = clock.Elapsed.TotalMilliseconds;
        process.Refresh();
        double cpuMs = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds;
        double allocatedMbPerStep = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / (1024.0 * 1024.0) / steps;
        double utilisation = cpuMs / (wallMs * ComputeSettings.ThreadCount);
        double stepMs = wallMs / steps;
        double gcPauseMsPerStep = (GC.GetTotalPauseDuration() - pauseBefore).TotalMilliseconds / steps;
        // Collections of each generation during the timed steps (a gen-0 count includes the gen-1 and gen-2 ones).
        int[] collections = [.. Enumerable.Range(0, 3).Select(g => GC.CollectionCount(g) - collectionsBefore[g])];
        double tokensPerSecond = batch * seq / (stepMs / 1e3);
        double peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0);
        if (OpProfile.Enabled) console.Error.WriteLine(OpProfile.Report(steps)); // PEFT_PROFILE_OPS=1: time by operation
        if (json)
        {
            JsonOutput.WriteObject(console.Out, w =>
            {
                w.WriteNumber("tokens_per_s", tokensPerSecond);
                w.WriteNumber("step_ms", stepMs);
                w.WriteNumber("peak_mb", peakMb);
                w.WriteString("peak_mb_source", "process peak working set");
                w.WriteNumber("trainable_params", summary.TrainableParameters);
                w.WriteNumber("allocated_mb_per_step", allocatedMbPerStep);
                w.WriteNumber("cpu_utilisation", utilisation);
                w.WriteNumber("gc_pause_ms_per_step", gcPauseMsPerStep);
                for (int g = 0; g < 3; g++) w.WriteNumber($"gc_gen{g}_collections", collections[g]);
                w.WriteString("method", method);
                w.WriteString("optim", extras.Optim);
                w.WriteBoolean("fused_loss", !extras.UnfusedLoss);
                w.WriteNumber("optimizer_state_bytes", Train.OptimizerChoice.StateBytes(optimizer, model.TrainableParameters()));
                w.WriteBoolean("gradient_checkpointing", gradientCheckpointing);
                w.WriteNumber("threads", ComputeSettings.ThreadCount);
                foreach (var (name, phase) in new[] { ("forward", forward), ("backward", backward), ("optimizer", update) })
                {
                    w.WriteNumber($"{name}_ms", phase.WallMs / steps);
                    w.WriteNumber($"{name}_cpu_utilisation", phase.Utilisation(ComputeSettings.ThreadCount));
                }
            });
        }
        else
        {
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{method}{(gradientCheckpointing ? " (gradient checkpointing)" : "")}, {extras.Optim}, {(extras.UnfusedLoss ? "unfused" : "fused")} loss: {tokensPerSecond:F0} tokens/s, {stepMs:F1} ms/step, peak working set {peakMb:F0} MB, {summary.TrainableParameters} trainable parameters, "
                + $"{allocatedMbPerStep:F1} MB allocated per step, CPU utilisation {utilisation:P0} of {ComputeSettings.ThreadCount} threads, GC pauses {gcPauseMsPerStep:F1} ms per step ({collections[0]}/{collections[1]}/{collections[2]} collections of generation 0/1/2)"));
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  per step: forward {forward.WallMs / steps:F1} ms (CPU {forward.Utilisation(ComputeSettings.ThreadCount):P0}), backward {backward.WallMs / steps:F1} ms (CPU {backward.Utilisation(ComputeSettings.ThreadCount):P0}), "
                + $"optimizer {update.WallMs / steps:F2} ms"));
        }
        return CliAction.Success;
    }
}

/// <summary>The options <c>bench train</c> gained for the optimizer and the loss path.</summary>
internal sealed record BenchTrainExtras(string Optim, bool UnfusedLoss, string[]? ModulesToSave);
