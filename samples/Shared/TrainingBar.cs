using Peft.Net.Models.Training;
using Spectre.Console;

namespace Peft.Net.Samples;

/// <summary>Runs a trainer under a Spectre.Console progress bar (step, loss, throughput); optionally samples the managed heap after every step.</summary>
internal static class TrainingBar
{
    /// <summary>Trains; <paramref name="onStep"/> runs after every logged step (e.g. to sample memory).</summary>
    public static TrainingResult Run(string title, Trainer trainer, Action? onStep = null)
    {
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: trainer.TotalSteps);
                double? evalLoss = null; // the last eval loss stays on the bar until the next evaluation
                result = trainer.Train(new Reporter(p =>
                {
                    onStep?.Invoke();
                    evalLoss = p.EvalLoss ?? evalLoss;
                    string eval = evalLoss is { } e ? $" eval {e:F3}" : "";
                    task.Description = Markup.Escape($"{title}: loss {p.Loss:F3}{eval}, {p.TokensPerSecond:F0} tok/s");
                    task.Value = p.Step;
                }));
            });
        return result!;
    }

    // Synchronous (Progress<T> would post to the thread pool and report late).
    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
