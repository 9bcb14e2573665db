using System.Globalization;
using System.Text.RegularExpressions;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>
/// A .NET regex that matches code point by code point, as the regex engines of the tokenizers library do.
/// </summary>
/// <remarks>
/// .NET regexes see UTF-16 code units: an emoji or a CJK Extension B letter is two surrogates of category Cs, so
/// <c>\p{L}</c> does not match 𠀀 and <c>[^\r\n\p{L}\p{N}]?</c> takes only half of 😀. Before matching a string that
/// holds surrogate pairs, each pair is replaced by one BMP character of the same Unicode general category
/// (<see cref="Representative"/>), which every category-based pattern treats the same way; match positions are
/// mapped back to the original string. Patterns that name such a representative as a literal would see it too;
/// the chosen characters (À, א, ¦, …) do not occur in the pre-tokenizer patterns of published models.
/// </remarks>
internal sealed class CodePointRegex
{
    private static readonly char[] Representatives = BuildRepresentatives();
    private readonly Regex _regex;

    public CodePointRegex(string pattern)
    {
        Pattern = pattern;
        _regex = new Regex(PossessiveQuantifiers.ToAtomicGroups(pattern), RegexOptions.Compiled | RegexOptions.CultureInvariant);
    }

    /// <summary>The pattern as written in the tokenizer file.</summary>
    public string Pattern { get; }

    /// <summary>Appends the spans of all non-overlapping matches, left to right.</summary>
    public void FindMatches(string text, List<MatchSpan> output)
    {
        if (!UnicodeText.ContainsSurrogate(text))
        {
            foreach (ValueMatch m in _regex.EnumerateMatches(text))
                output.Add(new MatchSpan(m.Index, m.Index + m.Length));
            return;
        }

        var mapped = new char[text.Length];
        var origin = new int[text.Length + 1]; // mapped index -> index in text
        int n = 0;
        for (int i = 0; i < text.Length; n++)
        {
            origin[n] = i;
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                int codePoint = char.ConvertToUtf32(text[i], text[i + 1]);
                mapped[n] = Representative(CharUnicodeInfo.GetUnicodeCategory(codePoint));
                i += 2;
            }
            else
            {
                mapped[n] = text[i];
                i++;
            }
        }
        origin[n] = text.Length;
        foreach (ValueMatch m in _regex.EnumerateMatches(mapped.AsSpan(0, n)))
            output.Add(new MatchSpan(origin[m.Index], origin[m.Index + m.Length]));
    }

    /// <summary>A BMP character whose general category is <paramref name="category"/>.</summary>
    internal static char Representative(UnicodeCategory category) => Representatives[(int)category];

    private static char[] BuildRepresentatives()
    {
        var table = new char[(int)UnicodeCategory.OtherNotAssigned + 1];
        table[(int)UnicodeCategory.UppercaseLetter] = '\u00C0';
        table[(int)UnicodeCategory.LowercaseLetter] = '\u00E0';
        table[(int)UnicodeCategory.TitlecaseLetter] = '\u01C5';
        table[(int)UnicodeCategory.ModifierLetter] = '\u02B0';
        table[(int)UnicodeCategory.OtherLetter] = '\u05D0';
        table[(int)UnicodeCategory.NonSpacingMark] = '\u0300';
        table[(int)UnicodeCategory.SpacingCombiningMark] = '\u0903';
        table[(int)UnicodeCategory.EnclosingMark] = '\u20DD';
        table[(int)UnicodeCategory.DecimalDigitNumber] = '\u0660';
        table[(int)UnicodeCategory.LetterNumber] = '\u2160';
        table[(int)UnicodeCategory.OtherNumber] = '\u00B2';
        table[(int)UnicodeCategory.SpaceSeparator] = '\u2002';
        table[(int)UnicodeCategory.LineSeparator] = '\u2028';
        table[(int)UnicodeCategory.ParagraphSeparator] = '\u2029';
        table[(int)UnicodeCategory.Control] = '\u0001';
        table[(int)UnicodeCategory.Format] = '\u00AD';
        table[(int)UnicodeCategory.Surrogate] = '\uD800'; // unreachable: a decoded pair is never a surrogate
        table[(int)UnicodeCategory.PrivateUse] = '\uE000';
        table[(int)UnicodeCategory.ConnectorPunctuation] = '\u203F';
        table[(int)UnicodeCategory.DashPunctuation] = '\u2010';
        table[(int)UnicodeCategory.OpenPunctuation] = '\u2045';
        table[(int)UnicodeCategory.ClosePunctuation] = '\u2046';
        table[(int)UnicodeCategory.InitialQuotePunctuation] = '\u00AB';
        table[(int)UnicodeCategory.FinalQuotePunctuation] = '\u00BB';
        table[(int)UnicodeCategory.OtherPunctuation] = '\u00B6';
        table[(int)UnicodeCategory.MathSymbol] = '\u00D7';
        table[(int)UnicodeCategory.CurrencySymbol] = '\u00A2';
        table[(int)UnicodeCategory.ModifierSymbol] = '\u00B4';
        table[(int)UnicodeCategory.OtherSymbol] = '\u00A6';
        table[(int)UnicodeCategory.OtherNotAssigned] = '\u0378';
        return table;
    }
}
