using Peft.Net;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Samples;
using Spectre.Console;

namespace FineTuneLlama;

/// <summary>Loads a Hugging Face Llama checkpoint and a JSONL file, trains a LoRA adapter with the Trainer and saves it.</summary>
public static class FineTuneApp
{
    /// <summary>The console entry point: 0 on success, 1 on bad arguments or missing inputs (explained on <paramref name="error"/>).</summary>
    public static int Run(string[] args, TextWriter error)
    {
        FineTuneOptions options;
        try
        {
            options = FineTuneOptions.Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            error.WriteLine(e.Message);
            return 1;
        }
        var problems = InputCheck.Problems(options);
        if (problems.Count > 0)
        {
            error.WriteLine("FineTuneLlama cannot start:");
            foreach (string problem in problems) error.WriteLine($"- {problem}");
            error.WriteLine(FineTuneOptions.Usage);
            return 1;
        }
        Train(options);
        return 0;
    }

    private static void Train(FineTuneOptions options)
    {
        string modelDirectory = options.ModelDirectory!;
        AnsiConsole.Write(new Rule($"[bold]LoRA fine-tuning of {Markup.Escape(Path.GetFileName(Path.GetFullPath(modelDirectory)))}[/]"));
        var model = LlamaForCausalLM.FromPretrained(modelDirectory, DType.F32);
        var tokenizer = BpeTokenizer.FromDirectory(modelDirectory);
        var template = options.Chat ? ChatTemplate.FromDirectory(modelDirectory) : null;
        string dataFile = options.DataFile ?? ChatDemo.WriteDataset(options.OutputDirectory);
        var examples = TrainingData.Load(dataFile, tokenizer, options.MaxLength, options.Chat ? DatasetFormat.Chat : DatasetFormat.Auto, template);
        var (train, eval) = examples.Count >= 20 ? ExampleBuilder.Split(examples, evalFraction: 0.1, seed: 7) : (examples, []);
        AnsiConsole.MarkupLine($"Model: {model.ParameterCount():N0} parameters; data: {train.Count} training and {eval.Count} eval examples (≤ {options.MaxLength} tokens).");

        var summary = model.ApplyLora(rank: options.Rank, alpha: 2 * options.Rank);
        SummaryLine.Write("LoRA", summary);
        var trainer = new Trainer(model, train, new TrainerOptions
        {
            MaxSteps = options.Steps, BatchSize = options.BatchSize, LearningRate = options.LearningRate,
            EvalEvery = eval.Count > 0 ? Math.Max(1, options.Steps / 4) : 0,
            PadTokenId = model.Config.PadTokenId ?? tokenizer.PadTokenId ?? tokenizer.EosTokenId ?? 0, Seed = 7,
            OutputDirectory = options.OutputDirectory,
        }, eval);
        var result = TrainingBar.Run("LoRA", trainer);
        trainer.WriteLog(options.OutputDirectory);
        string adapterDirectory = Path.Combine(options.OutputDirectory, "adapter");
        model.SaveAdapter(adapterDirectory);
        AnsiConsole.MarkupLine($"Final loss {result.FinalLoss:F3}{(result.FinalEvalLoss is { } e ? $", eval loss {e:F3}" : "")}, {result.Elapsed.TotalSeconds:F0} s.");
        AnsiConsole.MarkupLine($"Adapter (Hugging Face PEFT layout): [blue]{Markup.Escape(adapterDirectory)}[/]; log and loss plot in [blue]{Markup.Escape(options.OutputDirectory)}[/].");
        if (template is not null) ChatDemo.Chat(model, tokenizer, template, modelDirectory);
    }
}
