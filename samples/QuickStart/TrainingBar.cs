using Peft.Net.Models.Training;
using Spectre.Console;

namespace QuickStart;

/// <summary>Runs a trainer under a Spectre.Console progress bar showing the step, loss and throughput.</summary>
internal static class TrainingBar
{
    public static TrainingResult Run(string title, Trainer trainer)
    {
        TrainingResult? result = null;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(title, maxValue: trainer.TotalSteps);
                double? evalLoss = null;
                result = trainer.Train(new Reporter(p =>
                {
                    evalLoss = p.EvalLoss ?? evalLoss;
                    string eval = evalLoss is { } e ? $" eval {e:F3}" : "";
                    task.Description = $"{title}: loss {p.Loss:F3}{eval}, {p.TokensPerSecond:F0} tok/s";
                    task.Value = p.Step;
                }));
            });
        return result!;
    }

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
