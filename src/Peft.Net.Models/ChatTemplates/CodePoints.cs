using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Python's view of strings as sequences of code points (C# strings are UTF-16).</summary>
internal static class CodePoints
{
    public static int Count(string s)
    {
        int n = 0;
        foreach (char c in s) if (!char.IsLowSurrogate(c)) n++;
        return n;
    }

    public static string[] Split(string s) => s.EnumerateRunes().Select(r => r.ToString()).ToArray();

    /// <summary>Python's str.isspace for one character (Unicode White_Space plus the separators 0x1C–0x1F).</summary>
    public static bool IsSpace(char c) => c switch
    {
        >= '\t' and <= '\r' or >= '\x1c' and <= '\x1f' or ' ' or '\u0085' or '\u00a0' or '\u1680' or '\u2028' or '\u2029'
            or '\u202f' or '\u205f' or '\u3000' => true,
        >= '\u2000' and <= '\u200a' => true,
        _ => false,
    };

    /// <summary>Every character <see cref="IsSpace"/> accepts (for span trimming).</summary>
    public static readonly char[] IsSpaceChars =
        ['\t', '\n', '\v', '\f', '\r', '\x1c', '\x1d', '\x1e', '\x1f', ' ', '\u0085', '\u00a0', '\u1680', '\u2000', '\u2001', '\u2002',
         '\u2003', '\u2004', '\u2005', '\u2006', '\u2007', '\u2008', '\u2009', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000'];

    /// <summary>Python's str.strip/lstrip/rstrip: whitespace, or any of <paramref name="chars"/> when given.</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int start = 0, end = s.Length;
        Func<char, bool> strip = chars is null ? IsSpace : chars.Contains;
        if (left) while (start < end && strip(s[start])) start++;
        if (right) while (end > start && strip(s[end - 1])) end--;
        return s[start..end];
    }
}
