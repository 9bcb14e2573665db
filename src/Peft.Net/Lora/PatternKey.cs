using System.Text.RegularExpressions;

namespace Peft.Net.Lora;

/// <summary>
/// PEFT's <c>get_pattern_key</c> for <c>rank_pattern</c>/<c>alpha_pattern</c>: a key applies to a module when Python's
/// <c>re.match(rf"(.*\.)?({key})$", name)</c> succeeds, i.e. the key is a regex over a dotted suffix of the name.
/// The first matching key in enumeration order wins; rank and alpha are looked up separately (PEFT ≥ 0.14).
/// </summary>
/// <remarks>
/// PEFT ≤ 0.13 differs (<see cref="FindLegacy"/>): it searched the rank keys and then the alpha keys as one list with
/// <c>re.match(rf".*\.{key}$", name)</c> (the key not grouped, a dot required before it) and used the one key it
/// found for both lookups: <c>r = rank_pattern.get(key, r)</c>, <c>alpha = alpha_pattern.get(key, lora_alpha)</c>. So
/// when a module matches a rank key and a different alpha key, PEFT ≤ 0.13 ignores the alpha key.
/// </remarks>
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

    /// <summary>
    /// PEFT ≤ 0.13's lookup: the first key of <paramref name="rankKeys"/> then <paramref name="alphaKeys"/> for which
    /// Python's <c>re.match(rf".*\.{key}$", name)</c> succeeds, or null.
    /// </summary>
    public static string? FindLegacy(IEnumerable<string> rankKeys, IEnumerable<string> alphaKeys, string moduleName)
    {
        foreach (var key in rankKeys.Concat(alphaKeys))
            if (new Regex($"^(?:.*\\.{key}$)", RegexOptions.CultureInvariant).IsMatch(moduleName))
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
