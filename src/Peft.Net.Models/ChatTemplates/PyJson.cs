using System.Globalization;
using System.Text;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Python's <c>json.dumps(value, ensure_ascii=False, indent=…, separators=…, sort_keys=…)</c>, the <c>tojson</c>
/// filter transformers installs: ", " and ": " separators, non-ASCII kept raw, only '"', '\\' and controls escaped.
/// </summary>
internal static class PyJson
{
    public static string Dumps(object? value, int? indent, string? itemSeparator = null, string? keySeparator = null, bool sortKeys = false)
    {
        itemSeparator ??= indent is null ? ", " : ",";
        keySeparator ??= ": ";
        var sb = new StringBuilder();
        Write(sb, value, indent, itemSeparator, keySeparator, sortKeys, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, int? indent, string itemSep, string keySep, bool sortKeys, int level)
    {
        switch (value)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyValue.FloatRepr(d));
                break;
            case string s: WriteString(sb, s); break;
            case List<object?> or PyTuple:
            {
                IReadOnlyList<object?> items = value is List<object?> list ? list : ((PyTuple)value).Items;
                if (items.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, indent, level + 1);
                    Write(sb, items[i], indent, itemSep, keySep, sortKeys, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append(']');
                break;
            }
            case OrderedDictionary<string, object?> dict:
            {
                if (dict.Count == 0) { sb.Append("{}"); break; }
                IEnumerable<KeyValuePair<string, object?>> pairs = sortKeys ? dict.OrderBy(p => p.Key, StringComparer.Ordinal) : dict;
                sb.Append('{');
                bool first = true;
                foreach (var (key, item) in pairs)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(sb, indent, level + 1);
                    WriteString(sb, key);
                    sb.Append(keySep);
                    Write(sb, item, indent, itemSep, keySep, sortKeys, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append('}');
                break;
            }
            case Undefined u: throw new ChatTemplateException($"Object of type Undefined is not JSON serializable ({u.Description} is undefined) (TypeError)");
            default: throw new ChatTemplateException($"Object of type {PyValue.TypeName(value)} is not JSON serializable (TypeError)");
        }
    }

    private static void NewLine(StringBuilder sb, int? indent, int level)
    {
        if (indent is null) return;
        sb.Append('\n').Append(' ', indent.Value * level);
    }

    private static void WriteString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
