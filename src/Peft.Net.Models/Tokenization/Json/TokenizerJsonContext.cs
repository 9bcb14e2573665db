using System.Text.Json;

namespace Peft.Net.Models.Tokenization.Json;

/// <summary>
/// Reads fields of a <c>tokenizer.json</c> document and builds exceptions that name the file, the JSON path and
/// the problem, so that a bad or unsupported file is easy to diagnose.
/// </summary>
internal sealed class TokenizerJsonContext(string source)
{
    /// <summary>The file (or "JSON string") the document came from.</summary>
    public string Source { get; } = source;

    public InvalidDataException Invalid(string path, string problem) =>
        new($"{Source}: '{path}' {problem}.");

    public NotSupportedException Unsupported(string component, string type, string supported) =>
        new($"{Source}: {component} type '{type}' is not supported by Peft.Net's tokenizer (supported: {supported}).");

    /// <summary>The "type" field of a component object.</summary>
    public string TypeOf(JsonElement component, string path) => RequiredString(component, "type", path);

    public JsonElement Required(JsonElement obj, string name, string path)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"must be a JSON object but is {obj.ValueKind}");
        if (!obj.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            throw Invalid($"{path}.{name}", "is missing");
        return value;
    }

    /// <summary>The property, or null when it is absent or JSON null.</summary>
    public static JsonElement? Optional(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : null;

    public string RequiredString(JsonElement obj, string name, string path)
    {
        var value = Required(obj, name, path);
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw Invalid($"{path}.{name}", $"must be a string but is {value.ValueKind}");
    }

    public string? OptionalString(JsonElement obj, string name, string path)
    {
        var value = Optional(obj, name);
        if (value is null) return null;
        return value.Value.ValueKind == JsonValueKind.String
            ? value.Value.GetString()
            : throw Invalid($"{path}.{name}", $"must be a string but is {value.Value.ValueKind}");
    }

    public bool OptionalBool(JsonElement obj, string name, bool fallback, string path)
    {
        var value = Optional(obj, name);
        if (value is null) return fallback;
        return value.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid($"{path}.{name}", $"must be true or false but is {value.Value.ValueKind}"),
        };
    }

    public int OptionalInt(JsonElement obj, string name, int fallback, string path)
    {
        var value = Optional(obj, name);
        if (value is null) return fallback;
        return value.Value.ValueKind == JsonValueKind.Number && value.Value.TryGetInt32(out int result)
            ? result
            : throw Invalid($"{path}.{name}", "must be a 32-bit integer");
    }

    public int RequiredInt(JsonElement obj, string name, string path)
    {
        var value = Required(obj, name, path);
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result)
            ? result
            : throw Invalid($"{path}.{name}", "must be a 32-bit integer");
    }

    /// <summary>A string field that must hold exactly one character (Metaspace's replacement, Strip's content).</summary>
    public char RequiredChar(JsonElement obj, string name, string path)
    {
        string text = RequiredString(obj, name, path);
        return text.Length == 1
            ? text[0]
            : throw Invalid($"{path}.{name}", $"must be a single UTF-16 character but is \"{text}\"");
    }

    public JsonElement RequiredArray(JsonElement obj, string name, string path)
    {
        var value = Required(obj, name, path);
        return value.ValueKind == JsonValueKind.Array
            ? value
            : throw Invalid($"{path}.{name}", $"must be an array but is {value.ValueKind}");
    }
}
