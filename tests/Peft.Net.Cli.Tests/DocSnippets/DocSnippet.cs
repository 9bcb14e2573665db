using System.Text.RegularExpressions;

namespace Peft.Net.Cli.Tests.DocSnippets;

/// <summary>The kinds of C# block a doc page can hold; the marker on the line before the fence says which.</summary>
public enum SnippetKind
{
    /// <summary>No marker (or one the parser does not know): always a test failure, so no block slips through.</summary>
    Unmarked,
    /// <summary><c>&lt;!-- snippet: run --&gt;</c>: a whole program, compiled and run in process.</summary>
    Run,
    /// <summary><c>&lt;!-- snippet: program --&gt;</c>: a whole program, compiled (it needs files or hardware to run).</summary>
    Program,
    /// <summary><c>&lt;!-- snippet: fragment given: … --&gt;</c>: statements or declarations compiled in a declared context.</summary>
    Fragment,
    /// <summary><c>&lt;!-- snippet: excerpt src/….cs --&gt;</c>: code quoted from a source file, which must contain it.</summary>
    Excerpt,
}

/// <summary>
/// One C# block of README.md or docs/*.md: where it is, its marker and its code.
/// </summary>
/// <param name="File">The page, relative to the repository root.</param>
/// <param name="Line">1-based line of the opening fence.</param>
/// <param name="Kind">What the marker says.</param>
/// <param name="Argument">After the kind: a fragment's <c>given:</c> preamble, an excerpt's source path, the unknown marker text.</param>
/// <param name="Code">The lines between the fences.</param>
public sealed record DocSnippet(string File, int Line, SnippetKind Kind, string Argument, string Code)
{
    /// <summary>1-based page line of the block's first code line.</summary>
    public int FirstCodeLine => Line + 1;

    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line} ({Kind.ToString().ToLowerInvariant()})";

    private static readonly Regex Fence = new(@"^\s*```(?<lang>\S*)\s*$", RegexOptions.CultureInvariant);

    private static readonly Regex Marker = new(@"^<!--\s*snippet:\s*(?<kind>[a-z]+)\b(?<rest>.*?)\s*-->$", RegexOptions.CultureInvariant);

    /// <summary>The C# blocks of one markdown page (fences <c>```csharp</c>, <c>```cs</c>, <c>```c#</c>).</summary>
    /// <param name="file">The page's name as reported.</param>
    /// <param name="lines">The page's lines.</param>
    public static IEnumerable<DocSnippet> Parse(string file, IReadOnlyList<string> lines)
    {
        for (int i = 0; i < lines.Count; i++)
        {
            var open = Fence.Match(lines[i]);
            if (!open.Success) continue;
            int end = i + 1;
            while (end < lines.Count && lines[end].Trim() != "```") end++;
            if (open.Groups["lang"].Value.ToLowerInvariant() is "csharp" or "cs" or "c#")
            {
                var (kind, argument) = ReadMarker(i > 0 ? lines[i - 1].Trim() : "");
                yield return new DocSnippet(file, i + 1, kind, argument, string.Join('\n', lines.Skip(i + 1).Take(end - i - 1)));
            }
            i = end;
        }
    }

    private static (SnippetKind Kind, string Argument) ReadMarker(string line)
    {
        var m = Marker.Match(line);
        if (!m.Success) return (SnippetKind.Unmarked, line);
        string rest = m.Groups["rest"].Value.Trim();
        return m.Groups["kind"].Value switch
        {
            "run" when rest.Length == 0 => (SnippetKind.Run, ""),
            "program" when rest.Length == 0 => (SnippetKind.Program, ""),
            "fragment" when rest.Length == 0 => (SnippetKind.Fragment, ""),
            "fragment" when rest.StartsWith("given:", StringComparison.Ordinal) => (SnippetKind.Fragment, rest["given:".Length..].Trim()),
            "excerpt" when rest.Length > 0 => (SnippetKind.Excerpt, rest),
            _ => (SnippetKind.Unmarked, line),
        };
    }
}
