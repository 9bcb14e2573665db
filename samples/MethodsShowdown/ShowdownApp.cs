using System.Globalization;
using Peft.Net.Core;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Samples;
using Spectre.Console;

namespace MethodsShowdown;

/// <summary>Trains the same generated task with each method under the same budget and compares them.</summary>
public static class ShowdownApp
{
    private const double LearningRate = 2e-3;

    /// <summary>The console entry point: 0 on success, 1 on bad arguments.</summary>
    public static int Run(string[] args)
    {
        ShowdownOptions options;
        try
        {
            options = ShowdownOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        Execute(options);
        return 0;
    }

    /// <summary>Runs every method, prints the table, writes <c>loss_curves.svg</c> into the output folder and returns the results.</summary>
    public static IReadOnlyList<MethodResult> Execute(ShowdownOptions options)
    {
        AnsiConsole.Write(new Rule($"[bold]Peft.Net methods showdown{(options.Quick ? " (quick)" : "")}[/]"));
        string baseDirectory = Path.Combine(options.OutputDirectory, "base");
        DemoSetup.CreateBaseModel(baseDirectory, options.Quick, options.PretrainSteps);
        var (train, eval) = DemoSetup.FineTuneData(options.ExampleCount);
        AnsiConsole.MarkupLine($"Task: {train.Count} training and {eval.Count} eval examples; every method: {options.FineTuneSteps} steps of batch {options.BatchSize}, learning rate {LearningRate}, seed 7.");

        var results = new List<MethodResult>();
        foreach (var method in Method.All)
            results.Add(Train(method, baseDirectory, train, eval, options));

        string chartPath = Path.Combine(options.OutputDirectory, "loss_curves.svg");
        int window = Math.Max(1, options.FineTuneSteps / 20);
        var chart = new SvgLineChart($"Training loss by method (mean of the last {window} steps)", "step", "training loss");
        foreach (var result in results) chart.AddSeries(result.Method, MovingAverage(result.LossCurve, window));
        chart.Save(chartPath);

        PrintTable(results);
        AnsiConsole.MarkupLine($"Loss curves: [blue]{Markup.Escape(chartPath)}[/]");
        AnsiConsole.MarkupLine("[grey]peak heap: the managed heap (GC.GetTotalMemory) sampled after every training step, from a full GC just before " +
            "training; it holds the model, adapters, optimizer state and not-yet-collected activations, so it is indicative. " +
            "weights: bytes stored by all parameters and buffers after the method's setup (NF4 codes + absmax for QLoRA).[/]");
        return results;
    }

    private static MethodResult Train(Method method, string baseDirectory, IReadOnlyList<TokenizedExample> train, IReadOnlyList<TokenizedExample> eval, ShowdownOptions options)
    {
        var model = LlamaForCausalLM.FromPretrained(baseDirectory, DType.F32);
        method.Prepare(model);
        long trainable = model.ParameterCount(trainableOnly: true);
        long storedBytes = DemoSetup.StoredBytes(model);
        var trainer = new Trainer(model, train, new TrainerOptions
        {
            MaxSteps = options.FineTuneSteps, BatchSize = options.BatchSize, LearningRate = LearningRate,
            EvalEvery = Math.Max(1, options.FineTuneSteps / 4), PadTokenId = ByteTokenizer.Pad, Seed = 7,
        }, eval, method.CreateOptimizer?.Invoke(model, LearningRate));

        double startEvalLoss = trainer.Evaluate();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long peak = GC.GetTotalMemory(forceFullCollection: true);
        var result = TrainingBar.Run(method.Name, trainer, () => peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false)));
        double evalLoss = result.FinalEvalLoss ?? trainer.Evaluate();
        var history = trainer.History;
        double tokensPerSecond = history.Count == 0 ? 0 : history.Average(h => h.TokensPerSecond);
        return new MethodResult(method.Name, evalLoss, result.Elapsed, tokensPerSecond, trainable, storedBytes, peak,
            history.Select(h => ((double)h.Step, h.Loss)).ToList(), startEvalLoss);
    }

    /// <summary>Each point's loss averaged with the up to <paramref name="window"/> − 1 steps before it (per-step losses are noisy).</summary>
    private static IEnumerable<(double Step, double Loss)> MovingAverage(IReadOnlyList<(double Step, double Loss)> curve, int window) =>
        curve.Select((point, i) => (point.Step, curve.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average(p => p.Loss)));

    private static void PrintTable(IReadOnlyList<MethodResult> results)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Same budget, same seed");
        table.AddColumn("method");
        foreach (var header in new[] { "eval loss", "time", "tokens/s", "trainable params", "weights", "peak heap" })
            table.AddColumn(new TableColumn(header).RightAligned());
        double best = results.Min(r => r.EvalLoss);
        foreach (var r in results)
        {
            string loss = r.EvalLoss.ToString("F3", CultureInfo.InvariantCulture);
            table.AddRow(
                Markup.Escape(r.Method),
                r.EvalLoss == best ? $"[green]{loss}[/]" : loss,
                $"{r.Elapsed.TotalSeconds:F1} s",
                $"{r.TokensPerSecond:F0}",
                $"{r.TrainableParameters:N0}",
                DemoSetup.Megabytes(r.StoredWeightBytes),
                DemoSetup.Megabytes(r.PeakManagedBytes));
        }
        AnsiConsole.Write(table);
    }
}
