using Peft.Net.Core.IO;
using System.Globalization;
using System.Text;

namespace Peft.Net.Models.Training;

/// <summary>Writes the training history as a CSV table and an SVG loss plot.</summary>
public static class TrainingLog
{
    /// <summary>The CSV file name inside the output folder.</summary>
    public const string CsvFileName = "training_log.csv";

    /// <summary>The SVG file name inside the output folder.</summary>
    public const string SvgFileName = "loss.svg";

    /// <summary>
    /// Writes <c>step,loss,eval_loss,lr,tokens_per_s</c> rows (invariant culture; an empty eval_loss where none was
    /// computed) to <paramref name="path"/> atomically.
    /// </summary>
    public static void WriteCsv(string path, IEnumerable<TrainingLogEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var csv = new StringBuilder("step,loss,eval_loss,lr,tokens_per_s\n");
        foreach (var e in entries)
            csv.Append(string.Create(CultureInfo.InvariantCulture,
                $"{e.Step},{e.Loss:R},{(e.EvalLoss is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "")},{e.LearningRate:R},{e.TokensPerSecond:F1}\n"));
        AtomicFile.WriteAllText(path, csv.ToString());
    }

    /// <summary>Writes an SVG line chart of the training loss and the evaluation loss against the step, atomically.</summary>
    public static void WriteSvg(string path, IEnumerable<TrainingLogEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = entries.ToList();
        var chart = new SvgLineChart("Training loss", "step", "loss")
            .AddSeries("train", "#1f77b4", list.Select(e => ((double)e.Step, e.Loss)))
            .AddSeries("eval", "#d62728", list.Where(e => e.EvalLoss is not null).Select(e => ((double)e.Step, e.EvalLoss!.Value)));
        AtomicFile.WriteAllText(path, chart.Render());
    }
}
