using System.Diagnostics;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Samples;
using Peft.Net.TorchSharp;
using Spectre.Console;
using TorchLlama;
using TorchSharp;

namespace TorchSharpFineTune;

/// <summary>
/// The sample's flow: an HF checkpoint (generated and pre-trained by the engine unless --model is given) loaded into a
/// TorchSharp Llama, <c>ApplyLora(rank: 8)</c>, LoRA fine-tuning on TorchSharp, the adapter saved in HF PEFT layout,
/// and the engine's <c>peft generate --adapter</c> path run on the same prompts: the greedy ids must be the same.
/// </summary>
public static class TorchFineTuneApp
{
    public static int Run(string[] args)
    {
        TorchFineTuneOptions options;
        try
        {
            options = TorchFineTuneOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
        var report = Execute(options);
        if (!report.EvalLossFell)
            AnsiConsole.MarkupLine($"[red]LoRA fine-tuning did not lower the eval loss ({report.EvalLossBefore:F3} → {report.EvalLossAfter:F3}).[/]");
        if (!report.IdsMatch)
            AnsiConsole.MarkupLine("[red]TorchSharp's greedy ids differ from the engine's with the same adapter.[/]");
        return report.EvalLossFell && report.IdsMatch ? 0 : 1;
    }

    public static TorchFineTuneReport Execute(TorchFineTuneOptions options)
    {
        var clock = Stopwatch.StartNew();
        AnsiConsole.Write(new Rule("[bold]Peft.Net on TorchSharp: LoRA fine-tuning of a TorchSharp Llama[/]"));
        OpenMpWaitPolicy.PreferPassive(); // before LibTorch loads: sleeping, not spinning, OpenMP threads on a busy machine
        if (options.Threads is { } threads) torch.set_num_threads(threads);
        torch.manual_seed(7);
        var tokenizer = new ByteTokenizer();

        // 1. An HF checkpoint folder: given, or a small byte-level Llama the engine creates, pre-trains and saves.
        string baseDir = options.ModelDirectory ?? Path.Combine(options.OutputDirectory, "base");
        if (options.ModelDirectory is null)
        {
            AnsiConsole.MarkupLine("Creating the base checkpoint with the engine (a byte-level Llama, briefly pre-trained on generated text)…");
            DemoSetup.CreateBaseModel(baseDir, options.Quick, options.PretrainSteps);
        }
        var config = LlamaConfig.Load(baseDir);
        if (config.VocabSize != DemoSetup.Config(options.Quick).VocabSize)
            throw new ArgumentException($"{baseDir}: this sample's task is byte-level (vocab_size 259, as the other samples' base models); the checkpoint has {config.VocabSize}.");

        // 2. The TorchSharp model, loaded from that folder, and LoRA in one line.
        var model = TorchLlamaCheckpoint.Load(baseDir);
        var summary = model.ApplyLora(rank: 8, alpha: 16, dropout: 0.05f);
        AnsiConsole.MarkupLine($"Loaded [blue]{Markup.Escape(baseDir)}[/] into TorchSharp; LoRA applied: [green]{Markup.Escape(summary.ToString())}[/]");

        // 3. Fine-tune on TorchSharp: AdamW over the trainable (LoRA) parameters, one dispose scope per step.
        var (train, eval) = DemoSetup.FineTuneData(options.ExampleCount);
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        var optimizer = torch.optim.AdamW(trainable, lr: options.LearningRate);
        double evalBefore = EvalLoss(model, eval);
        int evalEvery = Math.Max(1, options.FineTuneSteps / 4);
        using var batches = TorchBatches.Shuffled(train, options.BatchSize, seed: 7).GetEnumerator();
        var steps = TorchTrainingBar.Run("LoRA fine-tuning on TorchSharp", options.FineTuneSteps, step =>
        {
            batches.MoveNext();
            model.train();
            double loss;
            using (var scope = torch.NewDisposeScope())
            {
                var (ids, labels, _) = TorchBatches.Collate(batches.Current, ByteTokenizer.Pad);
                optimizer.zero_grad();
                var value = model.Loss(ids, labels);
                value.backward();
                optimizer.step();
                loss = value.item<float>();
            }
            double? evalLoss = step % evalEvery == 0 || step == options.FineTuneSteps ? EvalLoss(model, eval) : null;
            return new TorchTrainingBar.StepResult(loss, evalLoss, batches.Current.Sum(e => e.Length));
        });
        double evalAfter = steps[^1].EvalLoss!.Value;

        // 4. Save the adapter in HF PEFT layout, then generate greedily on both sides from the same prompts.
        string adapterDir = Path.Combine(options.OutputDirectory, "adapter");
        model.SaveAdapter(adapterDir);
        var engine = EngineGeneration.Load(baseDir, adapterDir);
        var showcase = new DemoDataGenerator(seed: 99).Generate(options.Quick ? 3 : 5, DemoSetup.FineTuneTasks);
        var torchIds = new List<int[]>();
        var engineIds = new List<int[]>();
        var table = new Table().Border(TableBorder.Rounded).Title("Greedy answers with the adapter");
        foreach (var header in new[] { "prompt", "expected", "TorchSharp", "engine (peft generate --adapter)", "same ids" }) table.AddColumn(header);
        int[]? firstPrompt = null;
        foreach (var example in showcase)
        {
            var prompt = tokenizer.Encode($"Q: {example.Prompt}\nA: ", addSpecialTokens: true);
            firstPrompt ??= prompt;
            var fromTorch = model.GenerateGreedy(prompt, options.MaxNewTokens, config.EosTokenIds.ToHashSet());
            var fromEngine = EngineGeneration.Greedy(engine, prompt, options.MaxNewTokens);
            torchIds.Add(fromTorch);
            engineIds.Add(fromEngine);
            table.AddRow(new Text(example.Prompt), new Text(example.Completion), new Text(Answer(tokenizer, fromTorch)),
                new Text(Answer(tokenizer, fromEngine)), new Markup(fromTorch.SequenceEqual(fromEngine) ? "[green]yes[/]" : "[red]no[/]"));
        }
        AnsiConsole.Write(table);

        var report = new TorchFineTuneReport(evalBefore, evalAfter, summary.TrainableParameters, summary.AllParameters,
            torchIds, engineIds, adapterDir, baseDir);
        var numbers = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn(new TableColumn("value").RightAligned());
        numbers.AddRow("eval loss before → after LoRA", $"{evalBefore:F3} → {evalAfter:F3}");
        numbers.AddRow("trainable parameters", $"{summary.TrainableParameters:N0} of {summary.AllParameters:N0}");
        numbers.AddRow("greedy ids TorchSharp = engine", report.IdsMatch ? "yes" : "NO");
        numbers.AddRow("adapter", adapterDir);
        numbers.AddRow("wall time", $"{clock.Elapsed.TotalSeconds:F0} s");
        AnsiConsole.Write(numbers);
        AnsiConsole.MarkupLine("The same with the CLI:");
        AnsiConsole.WriteLine("  " + EngineGeneration.Command(baseDir, adapterDir, firstPrompt!, options.MaxNewTokens));
        return report;
    }

    /// <summary>Mean next-token loss over <paramref name="examples"/> (each batch weighted by its loss tokens), in evaluation mode.</summary>
    private static double EvalLoss(TorchLlamaForCausalLM model, IReadOnlyList<TokenizedExample> examples)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        double sum = 0;
        long count = 0;
        for (int start = 0; start < examples.Count; start += 16)
        {
            using var scope = torch.NewDisposeScope();
            var (ids, labels, lossTokens) = TorchBatches.Collate(examples.Skip(start).Take(16).ToArray(), ByteTokenizer.Pad);
            if (lossTokens == 0) continue;
            sum += model.Loss(ids, labels).item<float>() * lossTokens;
            count += lossTokens;
        }
        return sum / Math.Max(count, 1);
    }

    private static string Answer(ITokenizer tokenizer, int[] ids) => tokenizer.Decode(ids, skipSpecialTokens: true).Split('\n')[0];
}
