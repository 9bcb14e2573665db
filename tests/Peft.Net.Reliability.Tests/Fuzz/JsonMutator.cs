using System.Text;
using System.Text.Json;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Structure-aware mutations of a JSON document, which keep it parseable most of the time so the mutation
/// reaches the validation behind the parser: numbers and strings replaced by hostile values, values replaced by
/// another JSON type or by deep nesting, members deleted, duplicated or renamed, the text cut at a token.
/// </summary>
internal static class JsonMutator
{
    private static readonly string[] Numbers =
    [
        "-1", "0", "1", "2", "3", "7", "8", "255", "256", "65535", "2147483647", "2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "-9223372036854775808", "1e400", "1.5",
        "-0", "1e3", "99999999999999999999999", "100000000", "-2147483648",
    ];

    private static readonly string[] Strings =
    [
        "\"\"", "\"F32\"", "\"F16\"", "\"BF16\"", "\"BOOL\"", "\"U8\"", "\"I64\"", "\"F64\"", "\"F8_E4M3\"", "\"I4\"", "\"F12\"",
        "\"BPE\"", "\"WordPiece\"", "\"Unigram\"", "\"ByteLevel\"", "\"Sequence\"", "\"Metaspace\"", "\"Split\"", "\"NFC\"",
        "\"\\ud800\"", "\"\\udc00x\"", "\"\\u0000\"", "\"<unk>\"", "\"__metadata__\"", "\"a\\\"b\"", "\"\\u00e9t\\u00e9\"",
        "\"" + new string('x', 1000) + "\"", "\"(?<\"", "\"[\"", "\"\\\\p{L}+\"",
    ];

    private static readonly string[] Values =
        ["null", "true", "false", "0", "-1", "\"x\"", "[]", "{}", "[1,2]", "[-1]", "{\"a\":1}", "[\"a\",\"b\"]", "[[0,1]]"];

    private readonly record struct Token(JsonTokenType Type, int Start, int End);

    /// <summary>Applies 1–3 structural edits (stopping early if the text stops being JSON); null when the input is not JSON.</summary>
    public static byte[] Mutate(byte[] json, Random rng, out string what)
    {
        var steps = new List<string>();
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            var tokens = Scan(json);
            if (tokens is null || tokens.Count == 0) break;
            json = MutateOnce(json, tokens, rng, out string step);
            steps.Add(step);
        }
        what = steps.Count == 0 ? "no JSON edit" : string.Join(" + ", steps);
        return json;
    }

    private static byte[] MutateOnce(byte[] json, List<Token> tokens, Random rng, out string what)
    {
        for (int attempt = 0; attempt < 8; attempt++)
        {
            switch (rng.Next(9))
            {
                case 0 when Pick(tokens, rng, t => t.Type == JsonTokenType.Number) is { } number:
                    what = "replace a number";
                    return Replace(json, number.Start, number.End, Numbers[rng.Next(Numbers.Length)]);
                case 1 when Pick(tokens, rng, t => t.Type == JsonTokenType.Number) is { } number:
                {
                    string text = Encoding.UTF8.GetString(json, number.Start, number.End - number.Start);
                    if (!long.TryParse(text, out long value)) break;
                    what = "nudge a number";
                    return Replace(json, number.Start, number.End, (value + rng.Next(-3, 4)).ToString());
                }
                case 2 when Pick(tokens, rng, t => t.Type == JsonTokenType.String) is { } text:
                    what = "replace a string";
                    return Replace(json, text.Start, text.End, Strings[rng.Next(Strings.Length)]);
                case 3 when Pick(tokens, rng, IsValue) is { } value:
                    what = "replace a value by another type";
                    return Replace(json, value.Start, value.End, Values[rng.Next(Values.Length)]);
                case 4 when Pick(tokens, rng, IsValue) is { } value:
                {
                    int depth = 1 + rng.Next(rng.Next(2) == 0 ? 20 : 2000);
                    what = $"nest a value {depth} deep";
                    string open = rng.Next(2) == 0 ? "[" : "{\"k\":", close = open == "[" ? "]" : "}";
                    var inner = Encoding.UTF8.GetString(json, value.Start, value.End - value.Start);
                    return Replace(json, value.Start, value.End, string.Concat(Enumerable.Repeat(open, depth)) + inner + string.Concat(Enumerable.Repeat(close, depth)));
                }
                case 5 when PickMember(tokens, rng) is { } member:
                    what = "delete a member";
                    return DeleteMember(json, member.Name.Start, member.ValueEnd);
                case 6 when PickMember(tokens, rng) is { } member:
                {
                    what = "duplicate a member";
                    var copy = json.AsSpan(member.Name.Start, member.ValueEnd - member.Name.Start);
                    return [.. json.AsSpan(0, member.ValueEnd), .. ","u8, .. copy, .. json.AsSpan(member.ValueEnd)];
                }
                case 7 when Pick(tokens, rng, t => t.Type == JsonTokenType.PropertyName) is { } name:
                {
                    var other = Pick(tokens, rng, t => t.Type == JsonTokenType.PropertyName)!.Value;
                    what = "rename a key";
                    string replacement = rng.Next(3) == 0 ? "\"unknown_key\"" : Encoding.UTF8.GetString(json, other.Start, other.End - other.Start);
                    return Replace(json, name.Start, name.End, replacement);
                }
                case 8:
                {
                    var cut = tokens[rng.Next(tokens.Count)];
                    what = "cut the text at a token";
                    return json[..cut.Start];
                }
            }
        }
        what = "replace the first value";
        return Replace(json, tokens[0].Start, tokens[0].End, Values[rng.Next(Values.Length)]);
    }

    private static bool IsValue(Token t) => t.Type is not JsonTokenType.PropertyName;

    private static Token? Pick(List<Token> tokens, Random rng, Func<Token, bool> match)
    {
        var candidates = tokens.Where(match).ToList();
        return candidates.Count == 0 ? null : candidates[rng.Next(candidates.Count)];
    }

    private static (Token Name, int ValueEnd)? PickMember(List<Token> tokens, Random rng)
    {
        var names = Enumerable.Range(0, tokens.Count - 1).Where(i => tokens[i].Type == JsonTokenType.PropertyName).ToList();
        if (names.Count == 0) return null;
        int index = names[rng.Next(names.Count)];
        return (tokens[index], tokens[index + 1].End);
    }

    private static byte[] Replace(byte[] json, int start, int end, string replacement) =>
        [.. json.AsSpan(0, start), .. Encoding.UTF8.GetBytes(replacement), .. json.AsSpan(end)];

    /// <summary>Deletes [start, end) and one adjoining comma, so the object stays valid JSON.</summary>
    private static byte[] DeleteMember(byte[] json, int start, int end)
    {
        int after = end;
        while (after < json.Length && json[after] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') after++;
        if (after < json.Length && json[after] == ',')
            return [.. json.AsSpan(0, start), .. json.AsSpan(after + 1)];
        int before = start - 1;
        while (before >= 0 && json[before] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t') before--;
        if (before >= 0 && json[before] == ',')
            return [.. json.AsSpan(0, before), .. json.AsSpan(end)];
        return [.. json.AsSpan(0, start), .. json.AsSpan(end)];
    }

    /// <summary>
    /// Every token with its byte range; a container's range covers the whole container and is listed at its
    /// start (a property name is followed by its value's range). Null when the text is not valid JSON.
    /// </summary>
    private static List<Token>? Scan(byte[] json)
    {
        var tokens = new List<Token>();
        var open = new Stack<int>();
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4096 });
        try
        {
            while (reader.Read())
            {
                int start = (int)reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        open.Push(tokens.Count);
                        tokens.Add(new Token(reader.TokenType, start, -1));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        int index = open.Pop();
                        tokens[index] = tokens[index] with { End = (int)reader.BytesConsumed };
                        break;
                    case JsonTokenType.String:
                    case JsonTokenType.PropertyName:
                        tokens.Add(new Token(reader.TokenType, start, start + reader.ValueSpan.Length + 2));
                        break;
                    default:
                        tokens.Add(new Token(reader.TokenType, start, start + reader.ValueSpan.Length));
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }
        return open.Count == 0 ? tokens : null;
    }
}
