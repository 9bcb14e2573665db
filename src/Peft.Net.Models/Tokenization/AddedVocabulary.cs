using Peft.Net.Models.Tokenization.Normalizers;

namespace Peft.Net.Models.Tokenization;

/// <summary>
/// The added tokens of a tokenizer and the first encoding step: tokens with <c>normalized: false</c> are cut out
/// of the raw text, the remaining text is normalized, then tokens with <c>normalized: true</c> are cut out of it
/// (their content normalized the same way), as the tokenizers library's AddedVocabulary does.
/// </summary>
internal sealed class AddedVocabulary
{
    private readonly AddedTokenMatcher _raw;
    private readonly AddedTokenMatcher _normalized;
    private readonly INormalizer? _normalizer;
    private readonly Dictionary<int, AddedToken> _byId;
    private readonly Dictionary<string, AddedToken> _byContent;

    public AddedVocabulary(IReadOnlyList<AddedToken> tokens, INormalizer? normalizer)
    {
        Tokens = tokens;
        _normalizer = normalizer;
        _byId = new Dictionary<int, AddedToken>();
        _byContent = new Dictionary<string, AddedToken>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            _byId[token.Id] = token;
            _byContent[token.Content] = token;
        }
        _raw = new AddedTokenMatcher(tokens.Where(t => !t.Normalized).Select(t => (t.Content, t)));
        _normalized = new AddedTokenMatcher(tokens.Where(t => t.Normalized)
            .Select(t => (normalizer?.Normalize(t.Content) ?? t.Content, t)));
    }

    public IReadOnlyList<AddedToken> Tokens { get; }

    public AddedToken? ById(int id) => _byId.GetValueOrDefault(id);

    public AddedToken? ByContent(string content) => _byContent.GetValueOrDefault(content);

    /// <summary>Appends the segments of <paramref name="text"/>; text segments come out normalized.</summary>
    public void Split(string text, List<TextSegment> output)
    {
        var rawSegments = new List<TextSegment>();
        if (_raw.IsEmpty)
            rawSegments.Add(new TextSegment(text, -1, true));
        else
            _raw.Split(text, atStart: true, rawSegments);

        foreach (var segment in rawSegments)
        {
            if (segment.TokenId >= 0)
            {
                output.Add(segment);
                continue;
            }
            string normalized = _normalizer?.Normalize(segment.Text) ?? segment.Text;
            if (normalized.Length == 0) continue;
            if (_normalized.IsEmpty)
                output.Add(segment with { Text = normalized });
            else
                _normalized.Split(normalized, segment.AtStart, output);
        }
    }
}
