using System.Globalization;
using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Python semantics of the values a template sees: None (null), <see cref="Undefined"/>, bool, long, double, string,
/// list (<see cref="List{T}"/>), tuple (<see cref="PyTuple"/>), dict (an insertion-ordered dictionary with string
/// keys), <see cref="TemplateNamespace"/> and callables. Printing is Python's <c>str()</c>, containers print as
/// <c>repr()</c>.
/// </summary>
internal static class PyValue
{
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        OrderedDictionary<string, object?> => "dict",
        TemplateNamespace => "Namespace",
        TemplateCallable => "function",
        LoopContext => "LoopContext",
        _ => v.GetType().Name,
    };

    public static bool IsTrue(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Items.Length > 0,
        OrderedDictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>Python <c>str(v)</c>; Undefined prints empty.</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(v),
    };

    /// <summary>Python <c>repr(v)</c>.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case null: sb.Append("None"); break;
            case Undefined: break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: AppendStringRepr(sb, s); break;
            case List<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++) { if (i > 0) sb.Append(", "); AppendRepr(sb, list[i]); }
                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                for (int i = 0; i < t.Items.Length; i++) { if (i > 0) sb.Append(", "); AppendRepr(sb, t.Items[i]); }
                if (t.Items.Length == 1) sb.Append(',');
                sb.Append(')');
                break;
            case OrderedDictionary<string, object?> dict:
                sb.Append('{');
                bool first = true;
                foreach (var (key, value) in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStringRepr(sb, key);
                    sb.Append(": ");
                    AppendRepr(sb, value);
                }
                sb.Append('}');
                break;
            case TemplateNamespace ns:
                sb.Append("<Namespace {");
                bool firstAttr = true;
                foreach (var (key, value) in ns.Attributes)
                {
                    if (!firstAttr) sb.Append(", ");
                    firstAttr = false;
                    AppendStringRepr(sb, key);
                    sb.Append(": ");
                    AppendRepr(sb, value);
                }
                sb.Append("}>");
                break;
            default:
                throw new ChatTemplateException($"printing a {TypeName(v)} value is not supported by this renderer");
        }
    }

    /// <summary>Python's string repr: single quotes unless the text has ' and no ".</summary>
    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (Rune r in s.EnumerateRunes())
        {
            int c = r.Value;
            if (c == quote || c == '\\') sb.Append('\\').Append((char)c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (c < 0x20 || c == 0x7f) sb.Append(CultureInfo.InvariantCulture, $"\\x{c:x2}");
            else if (!IsPrintable(r))
                sb.Append(c <= 0xff ? $"\\x{c:x2}" : c <= 0xffff ? $"\\u{c:x4}" : $"\\U{c:x8}");
            else sb.Append(r.ToString());
        }
        sb.Append(quote);
    }

    /// <summary>Python's str.isprintable for one code point (separators and "other" categories are not printable, except ' ').</summary>
    private static bool IsPrintable(Rune r)
    {
        if (r.Value == ' ') return true;
        return Rune.GetUnicodeCategory(r) switch
        {
            UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse
                or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.SpaceSeparator => false,
            _ => true,
        };
    }

    /// <summary>Python's float repr: shortest round-trip digits, scientific notation below 1e-4 or from 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        // Shortest digits: "R" round-trips; take its digits and exponent.
        string shortest = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        (string digits, int exponent) = Decompose(shortest);
        string sign = d < 0 ? "-" : "";
        if (exponent < -4 || exponent >= 16)
        {
            string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
        }
        if (exponent >= 0)
        {
            string intPart = digits.Length > exponent + 1 ? digits[..(exponent + 1)] : digits.PadRight(exponent + 1, '0');
            string frac = digits.Length > exponent + 1 ? digits[(exponent + 1)..] : "0";
            return sign + intPart + "." + frac;
        }
        return sign + "0." + new string('0', -exponent - 1) + digits;
    }

    /// <summary>Splits a .NET round-trip number ("1.2345E-05", "123.45") into significant digits and a decimal exponent.</summary>
    private static (string Digits, int Exponent) Decompose(string s)
    {
        int exp = 0;
        int e = s.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(s[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            s = s[..e];
        }
        int dot = s.IndexOf('.');
        string intPart = dot < 0 ? s : s[..dot];
        string fracPart = dot < 0 ? "" : s[(dot + 1)..];
        string all = intPart + fracPart;
        int pointPos = intPart.Length + exp; // digits before the decimal point
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        all = all[lead..];
        pointPos -= lead;
        all = all.TrimEnd('0');
        if (all.Length == 0) all = "0";
        return (all, pointPos - 1);
    }

    /// <summary>Python <c>==</c> (1 == 1.0 == True; containers compare structurally).</summary>
    public static bool Equal(object? a, object? b)
    {
        if (a is null || b is null) return a is null && b is null;
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return ToLong(a) == ToLong(b);
        }
        switch (a)
        {
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case List<object?> la:
                if (b is not List<object?> lb || la.Count != lb.Count) return false;
                for (int i = 0; i < la.Count; i++) if (!Equal(la[i], lb[i])) return false;
                return true;
            case PyTuple ta:
                if (b is not PyTuple tb || ta.Items.Length != tb.Items.Length) return false;
                for (int i = 0; i < ta.Items.Length; i++) if (!Equal(ta.Items[i], tb.Items[i])) return false;
                return true;
            case OrderedDictionary<string, object?> da:
                if (b is not OrderedDictionary<string, object?> db || da.Count != db.Count) return false;
                foreach (var (k, v) in da) if (!db.TryGetValue(k, out var w) || !Equal(v, w)) return false;
                return true;
            default: return ReferenceEquals(a, b);
        }
    }

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new ChatTemplateException($"expected a number, got {TypeName(v)}"),
    };

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => d,
        _ => throw new ChatTemplateException($"expected a number, got {TypeName(v)}"),
    };

    /// <summary>Python ordering for &lt; &gt; &lt;= &gt;=: numbers with numbers, strings by code point, lists element-wise.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (a is Undefined u) throw u.Error();
        if (b is Undefined ub) throw ub.Error();
        if (IsNumber(a) && IsNumber(b))
            return a is double || b is double ? ToDouble(a).CompareTo(ToDouble(b)) : ToLong(a).CompareTo(ToLong(b));
        if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
        if (a is List<object?> la && b is List<object?> lb)
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
                if (!Equal(la[i], lb[i])) return Compare(la[i], lb[i], op);
            return la.Count.CompareTo(lb.Count);
        }
        throw new ChatTemplateException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}' (TypeError)");
    }

    /// <summary>Orders strings by code point (ordinal UTF-16 order differs for surrogates).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            bool ha = ea.MoveNext(), hb = eb.MoveNext();
            if (!ha || !hb) return ha.CompareTo(hb);
            int c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0) return c;
        }
    }

    /// <summary>Python iteration: list/tuple items, string code points, dict keys; Undefined iterates as empty.</summary>
    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        List<object?> l => l,
        PyTuple t => t.Items,
        string s => s.EnumerateRunes().Select(r => (object?)r.ToString()),
        OrderedDictionary<string, object?> d => d.Keys.Cast<object?>(),
        Undefined => [],
        _ => throw new ChatTemplateException($"'{TypeName(v)}' object is not iterable (TypeError)"),
    };

    /// <summary>Python <c>len()</c>; strings count code points.</summary>
    public static long Length(object? v) => v switch
    {
        string s => CodePoints.Count(s),
        List<object?> l => l.Count,
        PyTuple t => t.Items.Length,
        OrderedDictionary<string, object?> d => d.Count,
        Undefined => 0,
        _ => throw new ChatTemplateException($"object of type '{TypeName(v)}' has no len() (TypeError)"),
    };

    /// <summary>Python <c>x in container</c>.</summary>
    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub)
                    throw new ChatTemplateException($"'in <string>' requires string as left operand, not {TypeName(item)} (TypeError)");
                return s.Contains(sub, StringComparison.Ordinal);
            case OrderedDictionary<string, object?> d: return item is string key && d.ContainsKey(key);
            case Undefined: return false;
            default: return Iterate(container).Any(x => Equal(x, item));
        }
    }
}
