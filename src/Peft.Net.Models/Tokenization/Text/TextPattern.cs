using System.Text;
using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>The <c>{"String": "…"}</c> or <c>{"Regex": "…"}</c> pattern of Split, Replace and similar components.</summary>
internal sealed class TextPattern
{
    private readonly string? _literal;
    private readonly CodePointRegex? _regex;

    private TextPattern(string? literal, CodePointRegex? regex)
    {
        _literal = literal;
        _regex = regex;
    }

    public static TextPattern Literal(string literal) => new(literal, null);

    public static TextPattern Regex(string pattern) => new(null, new CodePointRegex(pattern));

    public static TextPattern FromJson(JsonElement pattern, TokenizerJsonContext context, string path)
    {
        if (TokenizerJsonContext.Optional(pattern, "String") is { ValueKind: JsonValueKind.String } literal)
            return Literal(literal.GetString()!);
        if (TokenizerJsonContext.Optional(pattern, "Regex") is { ValueKind: JsonValueKind.String } regex)
        {
            try
            {
                return Regex(regex.GetString()!);
            }
            catch (ArgumentException e)
            {
                throw context.Invalid(path + ".Regex", $"is not a regular expression .NET can compile ({e.Message})");
            }
        }
        throw context.Invalid(path, "must be an object {\"String\": …} or {\"Regex\": …}");
    }

    /// <summary>Appends the spans of all non-overlapping matches, left to right (none for an empty literal).</summary>
    public void FindMatches(string text, List<MatchSpan> output)
    {
        if (_regex is not null)
        {
            _regex.FindMatches(text, output);
            return;
        }
        string literal = _literal!;
        if (literal.Length == 0) return;
        for (int at = text.IndexOf(literal, StringComparison.Ordinal); at >= 0;
             at = text.IndexOf(literal, at + literal.Length, StringComparison.Ordinal))
            output.Add(new MatchSpan(at, at + literal.Length));
    }

    /// <summary>Replaces every match by <paramref name="content"/> (taken literally, no group references).</summary>
    public string Replace(string text, string content)
    {
        if (_literal is not null)
            return _literal.Length == 0 ? text : text.Replace(_literal, content, StringComparison.Ordinal);
        var matches = new List<MatchSpan>();
        FindMatches(text, matches);
        if (matches.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        int last = 0;
        foreach (var m in matches)
        {
            sb.Append(text, last, m.Start - last).Append(content);
            last = m.End;
        }
        return sb.Append(text, last, text.Length - last).ToString();
    }
}
