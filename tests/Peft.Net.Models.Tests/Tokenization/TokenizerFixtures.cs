using System.Text.Json;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>
/// The tokenizer folders written by tests/fixtures/make_tokenizer.py (copied next to the test assembly), and the
/// encodings its independent Python reference encoder produced.
/// </summary>
internal static class TokenizerFixtures
{
    public const string Llama3 = "llama3", Gpt2 = "gpt2", Llama2 = "llama2", Metaspace = "metaspace";

    public static readonly string[] All = [Llama3, Gpt2, Llama2, Metaspace];

    private static readonly Dictionary<string, BpeTokenizer> Loaded = new();

    public static string Directory(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", name);
        if (!System.IO.Directory.Exists(path))
            throw new DirectoryNotFoundException($"Fixture {path} is missing; regenerate it with tests/fixtures/make_tokenizer.py.");
        return path;
    }

    /// <summary>The tokenizer of a fixture folder, loaded once per test run.</summary>
    public static BpeTokenizer Load(string name)
    {
        lock (Loaded)
        {
            if (!Loaded.TryGetValue(name, out var tokenizer))
                Loaded[name] = tokenizer = BpeTokenizer.FromDirectory(Directory(name));
            return tokenizer;
        }
    }

    public static IReadOnlyList<ExpectedEncoding> Expected(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory(name), "expected.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ExpectedEncoding(
            c.GetProperty("text").GetString()!,
            c.GetProperty("add_special_tokens").GetBoolean(),
            c.GetProperty("ids").EnumerateArray().Select(v => v.GetInt32()).ToArray(),
            c.GetProperty("decoded").GetString()!,
            c.GetProperty("decoded_skip_special").GetString()!)).ToList();
    }

    public static string Escape(string text) => JsonSerializer.Serialize(text);
}

internal sealed record ExpectedEncoding(string Text, bool AddSpecialTokens, int[] Ids, string Decoded, string DecodedSkipSpecial);
