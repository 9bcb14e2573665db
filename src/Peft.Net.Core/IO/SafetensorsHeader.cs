using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Peft.Net.Core.IO;

/// <summary>
/// The parsed and validated JSON header of a safetensors file. Validation follows the reference
/// implementation (huggingface/safetensors): every field present with the right JSON type, known dtypes,
/// byte ranges that match shape × dtype size, and ranges that tile the data buffer exactly — contiguous from
/// byte 0, without overlaps or gaps, the last one ending at the end of the file. Duplicate keys, which JSON
/// parsers usually resolve silently, are rejected. Unknown fields inside a tensor entry are ignored, as the
/// reference ignores them.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>Nesting allowed in the header: the format needs 3 (root → entry → shape); the rest is slack for unknown fields.</summary>
    public const int MaxDepth = 16;

    private const string MetadataKey = "__metadata__";

    private SafetensorsHeader(IReadOnlyList<SafetensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>Entries in the order of their data in the file (header order for equal offsets).</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map in header order (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Parses <paramref name="json"/> and checks it against a data buffer of <paramref name="dataLength"/> bytes.</summary>
    /// <exception cref="SafetensorsFormatException">Anything is malformed; the message names the file, tensor and problem.</exception>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string filePath)
    {
        if (!Utf8.IsValid(json))
            throw new SafetensorsFormatException(filePath, null, "header is not valid UTF-8");
        var (entries, metadata) = ReadJson(json, filePath);
        var ordered = CheckLayout(entries, dataLength, filePath);
        return new SafetensorsHeader(ordered, metadata);
    }

    private readonly record struct RawEntry(string Name, string DType, long[] Shape, long Begin, long End);

    private static (List<RawEntry> Entries, Dictionary<string, string> Metadata) ReadJson(ReadOnlySpan<byte> json, string filePath)
    {
        var entries = new List<RawEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                throw new SafetensorsFormatException(filePath, null, $"header is not a JSON object (starts with {Describe(reader.TokenType)})");
            while (Next(ref reader) != JsonTokenType.EndObject)
            {
                string key = reader.GetString()!;
                if (!seen.Add(key))
                    throw new SafetensorsFormatException(filePath, key == MetadataKey ? null : key, $"duplicate key '{key}' in the header");
                reader.Read();
                if (key == MetadataKey)
                    ReadMetadata(ref reader, metadata, filePath);
                else
                    entries.Add(ReadEntry(ref reader, key, filePath));
            }
            if (reader.Read())
                throw new SafetensorsFormatException(filePath, null, "header has content after the JSON object");
        }
        catch (JsonException e)
        {
            string problem = reader.CurrentDepth >= MaxDepth - 1
                ? $"header JSON nests deeper than the maximum depth of {MaxDepth}"
                : $"header is not valid JSON: {e.Message}";
            throw new SafetensorsFormatException(filePath, null, problem, e);
        }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
        {
            // Reading a string whose escapes are not valid UTF-16 (an unpaired surrogate such as "\ud800").
            throw new SafetensorsFormatException(filePath, null, $"header holds a string that is not valid Unicode ({e.Message})", e);
        }
        return (entries, metadata);
    }

    /// <summary>Reads the next token of an object: a property name, or the end of the object.</summary>
    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType;
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string filePath)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(filePath, null, $"'{MetadataKey}' must be an object of strings, not {Describe(reader.TokenType)}");
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
                throw new SafetensorsFormatException(filePath, null, $"metadata value for '{key}' must be a string, not {Describe(reader.TokenType)}");
            if (!metadata.TryAdd(key, reader.GetString()!))
                throw new SafetensorsFormatException(filePath, null, $"duplicate metadata key '{key}'");
        }
    }

    private static RawEntry ReadEntry(ref Utf8JsonReader reader, string name, string filePath)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new SafetensorsFormatException(filePath, name, $"entry must be an object, not {Describe(reader.TokenType)}");
        string? dtype = null;
        long[]? shape = null, offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            reader.Read();
            switch (field)
            {
                case "dtype":
                    if (dtype is not null) throw Duplicate(field);
                    if (reader.TokenType != JsonTokenType.String)
                        throw new SafetensorsFormatException(filePath, name, $"'dtype' must be a string, not {Describe(reader.TokenType)}");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    if (shape is not null) throw Duplicate(field);
                    shape = ReadIntegers(ref reader, name, field, filePath);
                    break;
                case "data_offsets":
                    if (offsets is not null) throw Duplicate(field);
                    offsets = ReadIntegers(ref reader, name, field, filePath);
                    if (offsets.Length != 2)
                        throw new SafetensorsFormatException(filePath, name, $"'data_offsets' must hold 2 integers [begin, end], not {offsets.Length}");
                    break;
                default:
                    reader.Skip(); // The reference ignores unknown fields.
                    break;
            }
        }
        if (dtype is null) throw Missing("dtype");
        if (shape is null) throw Missing("shape");
        if (offsets is null) throw Missing("data_offsets");
        return new RawEntry(name, dtype, shape, offsets[0], offsets[1]);

        SafetensorsFormatException Duplicate(string field) => new(filePath, name, $"duplicate field '{field}'");
        SafetensorsFormatException Missing(string field) => new(filePath, name, $"entry is missing the '{field}' field");
    }

    /// <summary>Reads an array of non-negative integers that fit in a long (JSON numbers without fraction or exponent).</summary>
    private static long[] ReadIntegers(ref Utf8JsonReader reader, string name, string field, string filePath)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new SafetensorsFormatException(filePath, name, $"'{field}' must be an array of integers, not {Describe(reader.TokenType)}");
        var values = new List<long>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number)
                throw new SafetensorsFormatException(filePath, name, $"'{field}' must hold integers, found {Describe(reader.TokenType)}");
            string text = Encoding.UTF8.GetString(reader.ValueSpan);
            if (!reader.TryGetInt64(out long value) || text.AsSpan().IndexOfAny(".eE") >= 0)
                throw new SafetensorsFormatException(filePath, name, $"'{field}' value {text} is not an integer in [0, {long.MaxValue}]");
            if (value < 0)
                throw new SafetensorsFormatException(filePath, name, $"'{field}' value {value} is negative");
            values.Add(value);
        }
        return values.ToArray();
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.None => "nothing",
        _ => token.ToString(),
    };

    /// <summary>
    /// Checks every entry against its dtype and the data buffer, then that the byte ranges tile the buffer:
    /// sorted by offset, each starts where the previous ended, the first at 0 and the last at the buffer's end.
    /// </summary>
    private static List<SafetensorsEntry> CheckLayout(List<RawEntry> raw, long dataLength, string filePath)
    {
        var entries = new List<SafetensorsEntry>(raw.Count);
        foreach (var e in raw)
            entries.Add(CheckEntry(e, dataLength, filePath));

        // Stable sort by (begin, end): equal offsets (empty tensors) keep header order.
        var ordered = entries.Select((entry, index) => (entry, index))
            .OrderBy(p => p.entry.DataBegin).ThenBy(p => p.entry.DataEnd).ThenBy(p => p.index)
            .Select(p => p.entry).ToList();
        long cursor = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in ordered)
        {
            if (entry.DataBegin < cursor)
                throw new SafetensorsFormatException(filePath, entry.Name,
                    $"data_offsets [{entry.DataBegin}, {entry.DataEnd}] overlap tensor '{previous!.Name}' [{previous.DataBegin}, {previous.DataEnd}]");
            if (entry.DataBegin > cursor)
                throw new SafetensorsFormatException(filePath, entry.Name,
                    $"data_offsets [{entry.DataBegin}, {entry.DataEnd}] leave bytes [{cursor}, {entry.DataBegin}) unused" +
                    (previous is null ? " at the start of the data buffer" : $" after tensor '{previous.Name}'") +
                    "; safetensors requires contiguous data");
            cursor = entry.DataEnd;
            previous = entry;
        }
        if (cursor != dataLength)
            throw new SafetensorsFormatException(filePath, null,
                $"data buffer holds {dataLength} bytes but the tensors cover only {cursor}; {dataLength - cursor} trailing bytes are not part of any tensor");
        return ordered;
    }

    private static SafetensorsEntry CheckEntry(RawEntry e, long dataLength, string filePath)
    {
        if (!SafetensorsDType.TryParse(e.DType, out var dtype))
            throw new SafetensorsFormatException(filePath, e.Name, $"unknown dtype '{e.DType}'");
        string shapeText = $"[{string.Join(", ", e.Shape)}]";
        var shape = new int[e.Shape.Length];
        long elements = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (e.Shape[i] > int.MaxValue)
                throw new SafetensorsFormatException(filePath, e.Name, $"shape {shapeText} has a dimension larger than {int.MaxValue}, which Peft.Net does not support");
            shape[i] = (int)e.Shape[i];
            if (elements != 0 && shape[i] > long.MaxValue / 64 / elements)
                throw new SafetensorsFormatException(filePath, e.Name, $"shape {shapeText} overflows: too many elements");
            elements *= shape[i];
        }
        long bits = elements * dtype.Bits;
        if (bits % 8 != 0)
            throw new SafetensorsFormatException(filePath, e.Name, $"shape {shapeText} of {dtype.Name} ({dtype.Bits}-bit) is not a whole number of bytes");
        long bytes = bits / 8;
        if (e.Begin > e.End)
            throw new SafetensorsFormatException(filePath, e.Name, $"data_offsets [{e.Begin}, {e.End}] begin after they end");
        if (e.End > dataLength)
            throw new SafetensorsFormatException(filePath, e.Name,
                $"data_offsets [{e.Begin}, {e.End}] end past the data buffer of {dataLength} bytes (truncated file?)");
        if (e.End - e.Begin != bytes)
            throw new SafetensorsFormatException(filePath, e.Name,
                $"data_offsets [{e.Begin}, {e.End}] span {e.End - e.Begin} bytes but shape {shapeText} of {dtype.Name} needs {bytes}");
        return new SafetensorsEntry(e.Name, dtype, shape, elements, e.Begin, e.End);
    }
}
