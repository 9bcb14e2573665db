using System.Globalization;
using Microsoft.Extensions.Logging;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Training;
using Peft.Net.Neftune;
using Peft.Net.Optim;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands.Train;

/// <summary>Runs <c>peft train</c>: load, adapt, train, save.</summary>
internal static class TrainRunner
{
    public static int Run(CliConsole console, TrainSettings s)
    {
        Validate(s);
        CheckAgainstConfig(s);
        var model = LoadModel(s);
        var tokenizer = ModelTokenizer.Load(s.Model, model.Config.VocabSize);
        if (tokenizer.VocabSize > model.Config.VocabSize)
            throw new CliUserException($"{s.Model}: the tokenizer has {tokenizer.VocabSize} ids but the model's vocabulary is {model.Config.VocabSize}");
        var format = s.Format switch
        {
            "text" => DatasetFormat.Text,
            "prompt-completion" => DatasetFormat.PromptCompletion,
            "chat" => DatasetFormat.Chat,
            _ => DatasetFormat.Auto,
        };
        var template = format is DatasetFormat.Chat or DatasetFormat.Auto ? ChatTemplateLoader.Load(s.Model, required: format == DatasetFormat.Chat) : null;
        var examples = Guard(s.Data, () => TrainingData.Load(s.Data, tokenizer, s.Seq, format, template, s.TrainOnAll));
        var (train, eval) = ExampleBuilder.Split(examples, s.EvalFraction, s.Seed);
        var summary = ApplyAdapter(model, s);
        using var owned = s.LoraPlusRatio > 0 || s.Optim == "adamw" ? null : OptimizerChoice.Create(s.Optim, model.TrainableParameters(), s.LearningRate, weightDecay: 0);
        Optimizer? optimizer = s.LoraPlusRatio > 0 ? new LoraPlusOptimizer(model, s.LearningRate, s.LoraPlusRatio) : owned?.Optimizer;
        var trainer = new Trainer(model, train, new TrainerOptions
        {
            MaxSteps = s.Steps,
            Epochs = s.Epochs,
            BatchSize = s.Batch,
            GradientAccumulationSteps = s.GradientAccumulation,
            LearningRate = s.LearningRate,
            Seed = s.Seed,
            OutputDirectory = s.Output,
            CheckpointEvery = s.SaveEvery,
            EvalEvery = s.EvalEvery,
            PadTokenId = tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0,
            LogEvery = 1,
            GradientCheckpointing = s.GradientCheckpointing,
        }, eval, optimizer, Logger(console, s));
        if (s.NeftuneAlpha > 0)
        {
            model.EnableNeftune(s.NeftuneAlpha, new TensorRandom(s.Seed + 1));
            trainer.CheckpointedRandomGenerators.Add(model.NamedModules().Select(m => m.Module).OfType<NeftuneEmbedding>().First().Random);
        }
        if (s.Resume is not null)
            Guard(s.Resume, () => { trainer.Resume(s.Resume); return 0; });

        if (!s.Json)
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{MethodName(s)} r={s.Rank} alpha={s.Alpha}: {summary}; {train.Count} training / {eval.Count} evaluation examples; {trainer.TotalSteps} steps"));
        var result = TrainingProgressView.Run(console, trainer, showBar: console.IsTerminal && !s.Json);
        model.SaveAdapter(s.Output);
        Report(console, s, trainer, result, summary);
        return CliAction.Success;
    }

    /// <summary>The method, with the 4-bit base's settings for QLoRA.</summary>
    private static string MethodName(TrainSettings s)
    {
        if (s.Method != "qlora") return s.Method;
        var q = s.Quantization ?? FourBitQuantization.QLoRA;
        return $"qlora ({q.QuantType.ToString().ToLowerInvariant()} base, blocksize {q.BlockSize}{(q.DoubleQuant ? ", double quantization" : "")})";
    }

    private static void Validate(TrainSettings s)
    {
        if (s.Rank <= 0) throw new CliUserException($"--rank must be positive (got {s.Rank})");
        if (s.Batch <= 0) throw new CliUserException($"--batch must be positive (got {s.Batch})");
        if (s.GradientAccumulation <= 0) throw new CliUserException($"--grad-accum must be positive (got {s.GradientAccumulation})");
        if (s.Seq < 2) throw new CliUserException($"--seq must be at least 2 (got {s.Seq})");
        if (s.Steps is <= 0) throw new CliUserException($"--steps must be positive (got {s.Steps})");
        if (s.Epochs <= 0) throw new CliUserException($"--epochs must be positive (got {s.Epochs})");
        if (!(s.LearningRate > 0)) throw new CliUserException($"--lr must be positive (got {s.LearningRate})");
        if (!(s.EvalFraction >= 0 && s.EvalFraction < 1)) throw new CliUserException($"--eval-fraction must be in [0, 1) (got {s.EvalFraction})");
        if (!(s.Dropout >= 0 && s.Dropout < 1)) throw new CliUserException($"--dropout must be in [0, 1) (got {s.Dropout})");
        if (s.EvalEvery < 0) throw new CliUserException($"--eval-every must be ≥ 0 (got {s.EvalEvery})");
        if (s.SaveEvery < 0) throw new CliUserException($"--save-every must be ≥ 0 (got {s.SaveEvery})");
        if (!(s.LoraPlusRatio >= 0)) throw new CliUserException($"--loraplus-ratio must be ≥ 0 (got {s.LoraPlusRatio}; 0 turns LoRA+ off)");
        if (!(s.NeftuneAlpha >= 0)) throw new CliUserException($"--neftune-alpha must be ≥ 0 (got {s.NeftuneAlpha}; 0 turns NEFTune off)");
        if (!float.IsFinite(s.Alpha)) throw new CliUserException($"--alpha must be a finite number (got {s.Alpha})");
        if (s.Bias is not ("none" or "all" or "lora_only")) throw new CliUserException($"--bias must be none, all or lora_only (got {s.Bias})");
        if (s.LoraPlusRatio > 0 && s.Optim != "adamw") throw new CliUserException($"--loraplus-ratio works with --optim adamw only (got --optim {s.Optim})");
        if (!Directory.Exists(s.Model) && !(ModelSource.IsGguf(s.Model) && File.Exists(s.Model))) throw new CliUserException($"{s.Model}: no such model folder or .gguf file");
        if (!File.Exists(s.Data)) throw new CliUserException($"{s.Data}: no such data file");
    }

    /// <summary>Flags the model's config.json limits, checked before the (possibly large) weights are read.</summary>
    private static void CheckAgainstConfig(TrainSettings s)
    {
        var config = Guard(s.Model, () => LlamaConfig.Load(s.Model));
        if (s.Seq > config.MaxPositionEmbeddings)
            throw new CliUserException(
                $"--seq {s.Seq} is longer than the model's max_position_embeddings ({config.MaxPositionEmbeddings} in {Path.Combine(s.Model, "config.json")}); use --seq {config.MaxPositionEmbeddings} or less");
    }

    /// <summary>The base model; for QLoRA its linear layers are quantized straight from the file as they are read.</summary>
    private static LlamaForCausalLM LoadModel(TrainSettings s) =>
        Guard(s.Model, () => ModelSource.Load(s.Model, quantization: s.Method == "qlora" ? s.Quantization ?? FourBitQuantization.QLoRA : null));

    private static Peft.Net.Lora.PeftSummary ApplyAdapter(LlamaForCausalLM model, TrainSettings s)
    {
        bool allLinear = s.Target.Equals("all-linear", StringComparison.OrdinalIgnoreCase);
        var modules = allLinear ? null : s.Target.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string? regex = allLinear ? "all-linear" : null;
        if (s.Bias != "none")
        {
            // The bias mode is a LoraConfig field: the same adapter as below, with PEFT's `bias` set.
            var config = new LoraConfig
            {
                R = s.Rank, LoraAlpha = s.Alpha, LoraDropout = s.Dropout, TargetModules = modules?.Distinct(StringComparer.Ordinal).ToList(),
                TargetModulesRegex = regex, UseDora = s.Method == "dora", Bias = s.Bias,
            };
            return Guard("--target", () => model.ApplyLora(config, seed: s.Seed));
        }
        return Guard("--target", () => s.Method == "dora"
            ? model.ApplyDora(rank: s.Rank, alpha: s.Alpha, dropout: s.Dropout, targetModules: modules, targetRegex: regex, seed: s.Seed)
            : model.ApplyLora(rank: s.Rank, alpha: s.Alpha, dropout: s.Dropout, targetModules: modules, targetRegex: regex, seed: s.Seed));
    }

    private static ILogger Logger(CliConsole console, TrainSettings s) =>
        new CliLogger(s.Json ? console.Error : console.Out, s.Verbose ? LogLevel.Debug : console.IsTerminal ? LogLevel.Warning : LogLevel.Information);

    private static T Guard<T>(string what, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or FormatException or InvalidOperationException
                                   or Peft.Net.Models.ChatTemplates.ChatTemplateException)
        {
            throw new CliUserException(e.Message.StartsWith(what, StringComparison.Ordinal) ? e.Message : $"{what}: {e.Message}", e);
        }
    }

    private static void Report(CliConsole console, TrainSettings s, Trainer trainer, TrainingResult result, Peft.Net.Lora.PeftSummary summary)
    {
        double tokensPerSecond = trainer.History.Count == 0 ? 0 : trainer.History.Average(e => e.TokensPerSecond);
        if (s.Json)
        {
            JsonOutput.WriteObject(console.Out, json =>
            {
                json.WriteNumber("steps", result.Steps);
                json.WriteNumber("loss", Finite(result.FinalLoss));
                if (result.FinalEvalLoss is { } evalLoss) json.WriteNumber("eval_loss", Finite(evalLoss));
                else json.WriteNull("eval_loss");
                json.WriteNumber("tokens_per_s", tokensPerSecond);
                json.WriteNumber("skipped_steps", result.SkippedSteps);
                json.WriteBoolean("cancelled", result.Cancelled);
                json.WriteNumber("trainable_params", summary.TrainableParameters);
                json.WriteString("optim", s.Optim);
                json.WriteNumber("optimizer_state_bytes", OptimizerChoice.StateBytes(trainer.Optimizer, trainer.Optimizer.ParamGroups.SelectMany(g => g.Parameters)));
                json.WriteString("adapter", s.Output);
                if (result.LastCheckpoint is not null) json.WriteString("checkpoint", result.LastCheckpoint);
            });
            return;
        }
        string eval = result.FinalEvalLoss is { } v ? v.ToString("F4", CultureInfo.InvariantCulture) : "n/a";
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(result.Cancelled ? "stopped" : "done")} after {result.Steps} steps in {result.Elapsed.TotalSeconds:F1} s: loss {result.FinalLoss:F4}, eval loss {eval}, {tokensPerSecond:F0} tokens/s"));
        console.Out.WriteLine($"adapter: {s.Output} (log {TrainingLog.CsvFileName}, plot {TrainingLog.SvgFileName})");
        if (result.LastCheckpoint is not null)
            console.Out.WriteLine($"checkpoint: {result.LastCheckpoint} (continue with --resume)");
    }

    private static double Finite(double value) => double.IsFinite(value) ? value : -1;
}
