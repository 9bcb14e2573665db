using Spectre.Console;

namespace TorchSharpFineTune;

/// <summary>The samples' Spectre.Console progress bar (step, loss, eval loss, throughput) around a hand-written TorchSharp training loop.</summary>
internal static class TorchTrainingBar
{
    /// <summary>One step's numbers: its loss, the eval loss if it evaluated, and the tokens it trained on.</summary>
    public readonly record struct StepResult(double Loss, double? EvalLoss, int Tokens);

    /// <summary>Runs <paramref name="step"/> for steps 1 … <paramref name="steps"/> under the bar; returns every step's result.</summary>
    public static List<StepResult> Run(string title, int steps, Func<int, StepResult> step)
    {
        var results = new List<StepResult>(steps);
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: steps);
                double? evalLoss = null; // the last eval loss stays on the bar until the next evaluation
                var clock = System.Diagnostics.Stopwatch.StartNew();
                long tokens = 0;
                for (int s = 1; s <= steps; s++)
                {
                    var result = step(s);
                    results.Add(result);
                    tokens += result.Tokens;
                    evalLoss = result.EvalLoss ?? evalLoss;
                    string eval = evalLoss is { } e ? $" eval {e:F3}" : "";
                    double perSecond = tokens / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
                    task.Description = Markup.Escape($"{title}: loss {result.Loss:F3}{eval}, {perSecond:F0} tok/s");
                    task.Value = s;
                }
            });
        return results;
    }
}
