using System.Globalization;
using Peft.Net.Lora;
using Spectre.Console;

namespace Peft.Net.Samples;

/// <summary>
/// Prints a <see cref="PeftSummary"/> after a label on one console line: PEFT's own line when it fits the console's
/// width, else the same numbers in a shorter form, so a narrow or redirected console (80 columns) never splits
/// <c>trainable%:</c> from its value.
/// </summary>
internal static class SummaryLine
{
    /// <summary>The summary text that fits <paramref name="width"/> columns after <c>"{label}: "</c>.</summary>
    public static string Format(string label, PeftSummary summary, int width)
    {
        string peft = summary.ToString();
        if (label.Length + 2 + peft.Length <= width)
            return peft;
        string compact = string.Create(CultureInfo.InvariantCulture,
            $"{summary.TrainableParameters:N0} of {summary.AllParameters:N0} parameters trainable ({summary.TrainablePercent:F4} %)");
        if (label.Length + 2 + compact.Length <= width)
            return compact;
        return string.Create(CultureInfo.InvariantCulture, $"{summary.TrainableParameters:N0} trainable ({summary.TrainablePercent:F2} %)");
    }

    /// <summary>Writes <c>{label}: {summary}</c> with the summary in green.</summary>
    public static void Write(string label, PeftSummary summary) =>
        AnsiConsole.MarkupLine($"{Markup.Escape(label)}: [green]{Markup.Escape(Format(label, summary, AnsiConsole.Profile.Width))}[/]");
}
