using System.Globalization;
using System.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Removes non-spacing combining marks (used after NFD to strip accents).</summary>
internal sealed class StripAccentsNormalizer : INormalizer
{
    public string Normalize(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (Rune rune in text.EnumerateRunes())
            if (Rune.GetUnicodeCategory(rune) != UnicodeCategory.NonSpacingMark) sb.Append(rune);
        return sb.ToString();
    }
}
