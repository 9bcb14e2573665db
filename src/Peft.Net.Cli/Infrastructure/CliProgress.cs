using Spectre.Console;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>
/// Progress of a job made of steps (tensors): a Spectre.Console progress bar on an interactive terminal, one plain
/// line per finished step otherwise (logs and pipes stay readable).
/// </summary>
internal static class CliProgress
{
    /// <summary>
    /// Runs <paramref name="work"/>, which reports each finished step through the callback it is given: the step's weight
    /// (e.g. its bytes, out of <paramref name="total"/>) and a one-line description.
    /// </summary>
    /// <param name="console">Where to show progress.</param>
    /// <param name="title">The bar's title.</param>
    /// <param name="total">Sum of the steps' weights.</param>
    /// <param name="work">The job; it calls the callback once per finished step.</param>
    /// <param name="quiet">Show nothing (e.g. with --json, whose stdout is one JSON object).</param>
    public static void Run(CliConsole console, string title, double total, Action<Action<double, string>> work, bool quiet = false)
    {
        if (quiet)
        {
            work((_, _) => { });
            return;
        }
        if (!console.IsTerminal)
        {
            work((_, line) => console.Out.WriteLine(line));
            return;
        }
        console.Ansi().Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: Math.Max(total, 1));
                work((weight, line) =>
                {
                    task.Increment(weight);
                    task.Description = Markup.Escape(line.Length > 60 ? "…" + line[^59..] : line);
                });
                task.Value = task.MaxValue;
            });
    }
}
