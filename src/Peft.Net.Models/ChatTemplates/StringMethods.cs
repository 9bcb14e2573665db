using System.Globalization;
using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>The Python <c>str</c> methods real chat templates call (strip, split, startswith, replace, …).</summary>
internal static class StringMethods
{
    public static TemplateCallable? Get(string s, string name) => name switch
    {
        "strip" => (a, _) => CodePoints.Strip(s, OptionalString(a, 0, name), true, true),
        "lstrip" => (a, _) => CodePoints.Strip(s, OptionalString(a, 0, name), true, false),
        "rstrip" => (a, _) => CodePoints.Strip(s, OptionalString(a, 0, name), false, true),
        "split" => (a, k) => Split(s, OptionalString(a, 0, name, k, "sep"), MaxSplit(a, k)),
        "rsplit" => (a, k) => RSplit(s, OptionalString(a, 0, name, k, "sep"), MaxSplit(a, k)),
        "splitlines" => (_, _) => SplitLines(s),
        "startswith" => (a, _) => Affix(a, name).Any(p => s.StartsWith(p, StringComparison.Ordinal)),
        "endswith" => (a, _) => Affix(a, name).Any(p => s.EndsWith(p, StringComparison.Ordinal)),
        "replace" => (a, _) => Replace(s, RequiredString(a, 0, name), RequiredString(a, 1, name), a.Count > 2 ? PyValue.ToLong(a[2]) : -1),
        "upper" => (_, _) => s.ToUpperInvariant(),
        "lower" => (_, _) => s.ToLowerInvariant(),
        "title" => (_, _) => Title(s),
        "capitalize" => (_, _) => Capitalize(s),
        "find" => (a, _) => (long)CodePointIndex(s, s.IndexOf(RequiredString(a, 0, name), StringComparison.Ordinal)),
        "rfind" => (a, _) => (long)CodePointIndex(s, s.LastIndexOf(RequiredString(a, 0, name), StringComparison.Ordinal)),
        "count" => (a, _) => (long)CountOccurrences(s, RequiredString(a, 0, name)),
        "join" => (a, _) => string.Join(s, PyValue.Iterate(a.Count > 0 ? a[0] : null).Select(x => x as string
            ?? throw new ChatTemplateException($"sequence item: expected str instance, {PyValue.TypeName(x)} found (TypeError)"))),
        "isdigit" => (_, _) => s.Length > 0 && s.All(char.IsDigit),
        "isalpha" => (_, _) => s.Length > 0 && s.All(char.IsLetter),
        "isspace" => (_, _) => s.Length > 0 && s.All(CodePoints.IsSpace),
        "islower" => (_, _) => s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        "isupper" => (_, _) => s.Any(char.IsLetter) && !s.Any(char.IsLower),
        "format" => (a, k) => Format(s, a, k),
        _ => null,
    };

    private static string? OptionalString(IReadOnlyList<object?> args, int i, string method, IReadOnlyDictionary<string, object?>? kwargs = null, string? keyword = null)
    {
        object? value = i < args.Count ? args[i] : keyword is not null && kwargs!.TryGetValue(keyword, out var kw) ? kw : null;
        return value switch
        {
            null => null,
            string s => s,
            _ => throw new ChatTemplateException($"str.{method}() argument must be str or None, not {PyValue.TypeName(value)} (TypeError)"),
        };
    }

    private static string RequiredString(IReadOnlyList<object?> args, int i, string method) =>
        i < args.Count && args[i] is string s ? s
            : throw new ChatTemplateException($"str.{method}() expects a string argument {i + 1} (TypeError)");

    private static long MaxSplit(IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs) =>
        args.Count > 1 ? PyValue.ToLong(args[1]) : kwargs.TryGetValue("maxsplit", out var m) ? PyValue.ToLong(m) : -1;

    private static IEnumerable<string> Affix(IReadOnlyList<object?> args, string method)
    {
        if (args.Count > 1) throw new ChatTemplateException($"str.{method}() with start/end positions is not supported by this renderer");
        return args.Count == 1 && args[0] is PyTuple t ? t.Items.Select(x => x as string ?? "")
            : [RequiredString(args, 0, method)];
    }

    /// <summary>Python str.split: on whitespace runs dropping empty parts (no separator), else on the separator keeping them.</summary>
    public static List<object?> Split(string s, string? sep, long maxSplit)
    {
        var parts = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && CodePoints.IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxSplit >= 0 && parts.Count == maxSplit)
                {
                    parts.Add(CodePoints.Strip(s[i..], null, false, true));
                    break;
                }
                int start = i;
                while (i < s.Length && !CodePoints.IsSpace(s[i])) i++;
                parts.Add(s[start..i]);
            }
            return parts;
        }
        if (sep.Length == 0) throw new ChatTemplateException("empty separator (ValueError)");
        int from = 0;
        while (maxSplit < 0 || parts.Count < maxSplit)
        {
            int at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s[from..at]);
            from = at + sep.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    private static List<object?> SplitLines(string s)
    {
        var lines = s.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n').Select(x => (object?)x).ToList();
        if (lines.Count > 0 && ((string)lines[^1]!).Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    private static List<object?> RSplit(string s, string? sep, long maxSplit)
    {
        if (maxSplit < 0) return Split(s, sep, maxSplit);
        if (sep is null) throw new ChatTemplateException("str.rsplit() without a separator but with maxsplit is not supported by this renderer");
        var parts = new List<object?>();
        int end = s.Length;
        while (parts.Count < maxSplit)
        {
            int at = end == 0 ? -1 : s.LastIndexOf(sep, end - 1, StringComparison.Ordinal);
            if (at < 0 || at + sep.Length > end) break;
            parts.Insert(0, s[(at + sep.Length)..end]);
            end = at;
        }
        parts.Insert(0, s[..end]);
        return parts;
    }

    private static string Replace(string s, string old, string replacement, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, replacement) : s.Replace(old, replacement, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < count; n++)
        {
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            if (at < 0 || old.Length == 0) break;
            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
        }
        return sb.Append(s, from, s.Length - from).ToString();
    }

    private static string InsertEverywhere(string s, string insert) =>
        insert + string.Concat(CodePoints.Split(s).Select(c => c + insert));

    private static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsLetter(c);
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }
        return sb.ToString();
    }

    private static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    private static int CodePointIndex(string s, int utf16Index) => utf16Index < 0 ? -1 : CodePoints.Count(s[..utf16Index]);

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return CodePoints.Count(s) + 1;
        int n = 0;
        for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    /// <summary>str.format with {} / {0} / {name} fields and no format specs.</summary>
    private static string Format(string s, IReadOnlyList<object?> args, IReadOnlyDictionary<string, object?> kwargs)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '{' && i + 1 < s.Length && s[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < s.Length && s[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            int close = s.IndexOf('}', i);
            if (close < 0) throw new ChatTemplateException("Single '{' encountered in format string (ValueError)");
            string field = s[(i + 1)..close];
            if (field.Contains(':') || field.Contains('!'))
                throw new ChatTemplateException($"str.format() field '{{{field}}}' with a conversion or format spec is not supported by this renderer");
            object? value = field.Length == 0 ? At(args, auto++)
                : int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index) ? At(args, index)
                : kwargs.TryGetValue(field, out var kw) ? kw
                : throw new ChatTemplateException($"str.format(): no argument '{field}' (KeyError)");
            sb.Append(PyValue.Str(value));
            i = close;
        }
        return sb.ToString();
    }

    private static object? At(IReadOnlyList<object?> args, int index) =>
        index < args.Count ? args[index] : throw new ChatTemplateException($"str.format(): replacement index {index} out of range (IndexError)");
}
