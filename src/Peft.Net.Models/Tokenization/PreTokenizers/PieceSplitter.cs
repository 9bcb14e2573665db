using Peft.Net.Models.Tokenization.Json;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Cuts a piece of text at delimiter matches, following one <see cref="SplitBehavior"/>.</summary>
internal static class PieceSplitter
{
    /// <summary>
    /// Splits <paramref name="text"/> at <paramref name="matches"/> (sorted, non-overlapping) and appends the
    /// non-empty pieces to <paramref name="output"/>. With <paramref name="invert"/> the matches are the pieces
    /// to keep and the text between them is the delimiter.
    /// </summary>
    public static void Split(string text, List<MatchSpan> matches, SplitBehavior behavior, bool invert, List<string> output)
    {
        // Segments cover the whole text: (span, isDelimiter).
        var segments = new List<(MatchSpan Span, bool IsDelimiter)>(matches.Count * 2 + 1);
        int previous = 0;
        foreach (var m in matches)
        {
            if (m.Start > previous) segments.Add((new MatchSpan(previous, m.Start), invert));
            segments.Add((m, !invert));
            previous = m.End;
        }
        if (previous < text.Length) segments.Add((new MatchSpan(previous, text.Length), invert));

        var pieces = Apply(segments, behavior);
        foreach (var span in pieces)
            if (span.Length > 0) output.Add(span.Start == 0 && span.End == text.Length ? text : text[span.Start..span.End]);
    }

    private static List<MatchSpan> Apply(List<(MatchSpan Span, bool IsDelimiter)> segments, SplitBehavior behavior)
    {
        var result = new List<MatchSpan>(segments.Count);
        bool previousWasDelimiter = false;
        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var (span, isDelimiter) in segments)
                    if (!isDelimiter) result.Add(span);
                break;
            case SplitBehavior.Isolated:
                foreach (var (span, _) in segments) result.Add(span);
                break;
            case SplitBehavior.MergedWithPrevious:
                foreach (var (span, isDelimiter) in segments)
                {
                    if (isDelimiter && !previousWasDelimiter && result.Count > 0)
                        result[^1] = result[^1] with { End = span.End };
                    else
                        result.Add(span);
                    previousWasDelimiter = isDelimiter;
                }
                break;
            case SplitBehavior.MergedWithNext:
                for (int i = segments.Count - 1; i >= 0; i--)
                {
                    var (span, isDelimiter) = segments[i];
                    if (isDelimiter && !previousWasDelimiter && result.Count > 0)
                        result[^1] = result[^1] with { Start = span.Start };
                    else
                        result.Add(span);
                    previousWasDelimiter = isDelimiter;
                }
                result.Reverse();
                break;
            case SplitBehavior.Contiguous:
                for (int i = 0; i < segments.Count; i++)
                {
                    var (span, isDelimiter) = segments[i];
                    if (i > 0 && isDelimiter == previousWasDelimiter)
                        result[^1] = result[^1] with { End = span.End };
                    else
                        result.Add(span);
                    previousWasDelimiter = isDelimiter;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(behavior), behavior, "Unknown split behaviour.");
        }
        return result;
    }

    /// <summary>Reads a "behavior" field ("Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous").</summary>
    public static SplitBehavior ParseBehavior(string? name, SplitBehavior fallback, TokenizerJsonContext context, string path) => name switch
    {
        null => fallback,
        "Removed" => SplitBehavior.Removed,
        "Isolated" => SplitBehavior.Isolated,
        "MergedWithPrevious" => SplitBehavior.MergedWithPrevious,
        "MergedWithNext" => SplitBehavior.MergedWithNext,
        "Contiguous" => SplitBehavior.Contiguous,
        _ => throw context.Invalid(path, $"has unknown split behavior '{name}' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)"),
    };

    /// <summary>Appends one match per code point for which <paramref name="predicate"/> holds.</summary>
    public static void FindCharMatches(string text, Func<System.Text.Rune, bool> predicate, List<MatchSpan> output)
    {
        for (int i = 0; i < text.Length;)
        {
            System.Text.Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out int consumed);
            if (predicate(rune)) output.Add(new MatchSpan(i, i + consumed));
            i += consumed;
        }
    }
}
