using Spectre.Console;

namespace Peft.Net.Cli.Infrastructure;

/// <summary>A column of <see cref="TableOutput"/>.</summary>
internal sealed record TableColumn(string Header, bool RightAligned = false);

/// <summary>
/// Prints rows as a Spectre.Console table on a terminal, and as plain space-aligned lines without decoration
/// otherwise (easy to grep, cut or diff).
/// </summary>
internal static class TableOutput
{
    public static void Write(CliConsole console, IReadOnlyList<TableColumn> columns, IReadOnlyList<string[]> rows)
    {
        rows = rows.Select(row => row.Select(Printable).ToArray()).ToList();
        if (console.IsTerminal)
            WriteTable(console, columns, rows);
        else
            WritePlain(console.Out, columns, rows);
    }

    private static void WriteTable(CliConsole console, IReadOnlyList<TableColumn> columns, IReadOnlyList<string[]> rows)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            var c = new Spectre.Console.TableColumn(new Text(column.Header));
            table.AddColumn(column.RightAligned ? c.RightAligned() : c);
        }
        foreach (var row in rows)
            table.AddRow(row.Select(cell => (Spectre.Console.Rendering.IRenderable)new Text(cell)).ToArray());
        console.Ansi().Write(table);
    }

    private static void WritePlain(TextWriter output, IReadOnlyList<TableColumn> columns, IReadOnlyList<string[]> rows)
    {
        var widths = new int[columns.Count];
        foreach (var row in rows)
            for (int i = 0; i < widths.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        foreach (var row in rows)
        {
            var cells = row.Select((cell, i) =>
                i == widths.Length - 1 && !columns[i].RightAligned ? cell
                : columns[i].RightAligned ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]));
            output.WriteLine(string.Join("  ", cells));
        }
    }

    /// <summary>Control characters (a tab or newline inside a tensor name) as <c>\t</c>, <c>\n</c> or <c>\u0001</c>, so one row stays one line.</summary>
    private static string Printable(string cell)
    {
        if (!cell.Any(char.IsControl))
            return cell;
        var text = new System.Text.StringBuilder(cell.Length + 8);
        foreach (char c in cell)
        {
            text.Append(c switch
            {
                '\t' => "\\t",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when char.IsControl(c) => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return text.ToString();
    }
}
