using System.Text.Json;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Turns JSON and CLR values into the Python values templates see (dicts keep key order; integers stay ints).</summary>
internal static class TemplateValues
{
    public static object? FromJson(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.TryGetInt64(out long l) && !e.GetRawText().AsSpan().ContainsAny(".eE") ? (object)l : e.GetDouble(),
        JsonValueKind.Array => e.EnumerateArray().Select(FromJson).ToList(),
        JsonValueKind.Object => ToDict(e),
        _ => throw new ChatTemplateException($"unexpected JSON value kind {e.ValueKind}"),
    };

    private static OrderedDictionary<string, object?> ToDict(JsonElement e)
    {
        var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject()) dict[p.Name] = FromJson(p.Value);
        return dict;
    }

    /// <summary>string, bool, integers, floating point, <see cref="JsonElement"/>, lists and string-keyed dictionaries of these, or null.</summary>
    public static object? FromClr(object? value) => value switch
    {
        null => null,
        string or bool or long or double => value,
        int i => (long)i,
        float f => (double)f,
        JsonElement e => FromJson(e),
        IReadOnlyDictionary<string, object?> d => new OrderedDictionary<string, object?>(d.Select(p => KeyValuePair.Create(p.Key, FromClr(p.Value))), StringComparer.Ordinal),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(FromClr).ToList(),
        _ => throw new ArgumentException($"a template variable of type {value.GetType().Name} is not supported (use string, bool, numbers, JsonElement, lists or dictionaries)"),
    };
}
