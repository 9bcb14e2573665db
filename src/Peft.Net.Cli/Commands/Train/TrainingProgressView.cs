using System.Globalization;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Models.Training;
using Spectre.Console;

namespace Peft.Net.Cli.Commands.Train;

/// <summary>
/// Runs a trainer with a Spectre.Console progress bar (step, loss, eval loss, tokens/s) on a terminal, or bare (the
/// trainer's log lines are the progress) otherwise. Ctrl+C cancels at the next step boundary.
/// </summary>
internal static class TrainingProgressView
{
    public static TrainingResult Run(CliConsole console, Trainer trainer, bool showBar)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // finish the step and write a checkpoint instead of dying
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (!showBar)
                return trainer.Train(null, cancel.Token);
            TrainingResult? result = null;
            console.Ansi().Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(context =>
                {
                    var task = context.AddTask("training", maxValue: trainer.TotalSteps);
                    task.Value = trainer.Step;
                    double? evalLoss = null;
                    var progress = new Reporter(p =>
                    {
                        evalLoss = p.EvalLoss ?? evalLoss;
                        string eval = evalLoss is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "-";
                        task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                            $"step {p.Step}/{p.TotalSteps} loss {p.Loss:F3} eval {eval} {p.TokensPerSecond:F0} tok/s"));
                        task.Value = p.Step;
                    });
                    result = trainer.Train(progress, cancel.Token);
                });
            return result!;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private sealed class Reporter(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
