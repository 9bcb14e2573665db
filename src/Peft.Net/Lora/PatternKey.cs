using System.Text.RegularExpressions;

namespace Peft.Net.Lora;

/// <summary>
/// PEFT's <c>get_pattern_key</c> for <c>rank_pattern</c>/<c>alpha_pattern</c>: a key applies to a module when Python's
/// <c>re.match(rf"(.*\.)?({key})$", name)</c> succeeds, i.e. the key is a regex over a dotted suffix of the name.
/// The first matching key in enumeration order wins.
/// </summary>
internal static class PatternKey
{
    /// <summary>The first of <paramref name="keys"/> that matches <paramref name="moduleName"/>, or null.</summary>
    public static string? Find(IEnumerable<string> keys, string moduleName)
    {
        foreach (var key in keys)
            if (Compile(key).IsMatch(moduleName))
                return key;
        return null;
    }

    /// <summary>The error message when <paramref name="key"/> is not a valid regex, else null.</summary>
    public static string? TryCompile(string key)
    {
        try
        {
            Compile(key);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    // re.match anchors at the start; "$" matches at the end (or before a final newline), as in Python.
    private static Regex Compile(string key) => new($"^(.*\\.)?({key})$", RegexOptions.CultureInvariant);
}
