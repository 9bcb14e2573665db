using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Peft.Net.Adapters;

/// <summary>
/// Serializes a <see cref="JsonNode"/> byte for byte as Python's <c>json.dumps(obj, indent=2, sort_keys=True)</c>
/// does (PEFT's <c>adapter_config.json</c>): keys sorted by code point at every level, ", "-free indented layout,
/// <c>{}</c>/<c>[]</c> for empty containers, non-ASCII escaped as <c>\uXXXX</c>, doubles as Python's <c>repr</c>.
/// </summary>
internal static class PythonJson
{
    public static string Serialize(JsonNode? node)
    {
        var text = new StringBuilder();
        Write(text, node, 0);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonNode? node, int depth)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                if (obj.Count == 0) { text.Append("{}"); break; }
                text.Append('{');
                bool first = true;
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    text.Append(first ? "\n" : ",\n").Append(' ', 2 * (depth + 1));
                    WriteString(text, key);
                    text.Append(": ");
                    Write(text, value, depth + 1);
                    first = false;
                }
                text.Append('\n').Append(' ', 2 * depth).Append('}');
                break;
            case JsonArray array:
                if (array.Count == 0) { text.Append("[]"); break; }
                text.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    text.Append(i == 0 ? "\n" : ",\n").Append(' ', 2 * (depth + 1));
                    Write(text, array[i], depth + 1);
                }
                text.Append('\n').Append(' ', 2 * depth).Append(']');
                break;
            case JsonValue value:
                WriteValue(text, value);
                break;
        }
    }

    private static void WriteValue(StringBuilder text, JsonValue value)
    {
        if (value.TryGetValue(out string? s)) WriteString(text, s);
        else if (value.TryGetValue(out bool b)) text.Append(b ? "true" : "false");
        else if (value.TryGetValue(out int i)) text.Append(i.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue(out long l)) text.Append(l.ToString(CultureInfo.InvariantCulture));
        else if (value.TryGetValue(out double d)) text.Append(FloatRepr(d));
        else if (value.TryGetValue(out JsonElement element))
        {
            if (element.ValueKind == JsonValueKind.String) WriteString(text, element.GetString()!);
            else if (element.ValueKind is JsonValueKind.Object or JsonValueKind.Array) Write(text, JsonNode.Parse(element.GetRawText()), 0);
            else text.Append(element.GetRawText());
        }
        else text.Append(value.ToJsonString());
    }

    private static void WriteString(StringBuilder text, string s)
    {
        text.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                case '\b': text.Append("\\b"); break;
                case '\f': text.Append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        text.Append('"');
    }

    /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, positional for exponents in [-4, 16), else <c>1e-05</c> style.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsInfinity(d)) return d > 0 ? "Infinity" : "-Infinity";
        string sign = d < 0 || (d == 0 && double.IsNegative(d)) ? "-" : "";
        if (d == 0) return sign + "0.0";
        string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
        int exponent = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.');
        string digits = dot < 0 ? r : r[..dot] + r[(dot + 1)..];
        int point = (dot < 0 ? r.Length : dot) + exponent;   // digits[0..point) are the integer part
        int leading = digits.Length - digits.TrimStart('0').Length;
        digits = digits.Trim('0');
        point -= leading;
        int scientific = point - 1;
        if (scientific is >= -4 and < 16)
        {
            if (point <= 0) return sign + "0." + new string('0', -point) + digits;
            if (point >= digits.Length) return sign + digits + new string('0', point - digits.Length) + ".0";
            return sign + digits[..point] + "." + digits[point..];
        }
        string mantissa = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
        return sign + mantissa + "e" + (scientific < 0 ? "-" : "+") + Math.Abs(scientific).ToString("00", CultureInfo.InvariantCulture);
    }
}
