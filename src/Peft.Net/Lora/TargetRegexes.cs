using System.Text.RegularExpressions;

namespace Peft.Net.Lora;

/// <summary>Python's <c>re.fullmatch</c> on module names, emulated as <c>^(?:pattern)\z</c>.</summary>
internal static class TargetRegexes
{
    public static Regex FullMatch(string pattern) => new($"^(?:{pattern})\\z", RegexOptions.CultureInvariant);

    /// <summary>The error message when <paramref name="pattern"/> is not a valid regex, else null.</summary>
    public static string? TryCompileFullMatch(string pattern)
    {
        try
        {
            FullMatch(pattern);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>True when <paramref name="name"/> equals <paramref name="entry"/> or ends with <c>"." + entry</c>.</summary>
    public static bool IsNameOrDottedSuffix(string name, string entry) =>
        name == entry || (name.Length > entry.Length && name.EndsWith(entry, StringComparison.Ordinal) && name[name.Length - entry.Length - 1] == '.');
}
