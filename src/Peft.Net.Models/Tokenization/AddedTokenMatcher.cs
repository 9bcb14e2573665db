using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization;

/// <summary>
/// Finds added tokens in text, leftmost first and longest first at a position (the tokenizers library's
/// aho-corasick LeftmostLongest), honouring <c>single_word</c>, <c>lstrip</c> and <c>rstrip</c>.
/// </summary>
internal sealed class AddedTokenMatcher
{
    private readonly Dictionary<char, (string Content, AddedToken Token)[]> _byFirstChar;
    private readonly System.Buffers.SearchValues<char> _firstChars;

    /// <param name="tokens">Tokens with the text to look for (normalized content for normalized tokens).</param>
    public AddedTokenMatcher(IEnumerable<(string Content, AddedToken Token)> tokens)
    {
        _byFirstChar = tokens.Where(t => t.Content.Length > 0)
            .GroupBy(t => t.Content[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(t => t.Content.Length).ToArray());
        _firstChars = System.Buffers.SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Cuts <paramref name="text"/> into text segments and added-token segments, appended to <paramref name="output"/>.</summary>
    /// <param name="text">Text to search.</param>
    /// <param name="atStart">Whether <paramref name="text"/> begins at the start of the input.</param>
    /// <param name="output">Receives the segments in order; text segments are never empty.</param>
    public void Split(string text, bool atStart, List<TextSegment> output)
    {
        int segmentStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            int found = text.AsSpan(i).IndexOfAny(_firstChars);
            if (found < 0) break;
            i += found;
            var match = LongestAt(text, i);
            if (match is null)
            {
                i++;
                continue;
            }
            var (content, token) = match.Value;
            int start = i, stop = i + content.Length;
            if (token.SingleWord && !IsSingleWord(text, start, stop))
            {
                i = stop;
                continue;
            }
            if (token.LStrip)
                while (start > segmentStart && UnicodeText.IsWhiteSpace(text[start - 1])) start--;
            if (token.RStrip)
                while (stop < text.Length && UnicodeText.IsWhiteSpace(text[stop])) stop++;
            if (start > segmentStart)
                output.Add(new TextSegment(text[segmentStart..start], -1, atStart && segmentStart == 0));
            output.Add(new TextSegment("", token.Id, atStart && start == 0));
            segmentStart = i = stop;
        }
        if (segmentStart < text.Length)
            output.Add(new TextSegment(segmentStart == 0 ? text : text[segmentStart..], -1, atStart && segmentStart == 0));
    }

    private (string Content, AddedToken Token)? LongestAt(string text, int index)
    {
        if (!_byFirstChar.TryGetValue(text[index], out var candidates)) return null;
        var rest = text.AsSpan(index);
        foreach (var candidate in candidates)
            if (rest.StartsWith(candidate.Content, StringComparison.Ordinal)) return candidate;
        return null;
    }

    private static bool IsSingleWord(string text, int start, int stop) =>
        (start == 0 || !UnicodeText.IsWordCharacter(UnicodeText.RuneBefore(text, start)))
        && (stop == text.Length || !UnicodeText.IsWordCharacter(UnicodeText.RuneAt(text, stop)));
}
