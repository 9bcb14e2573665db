using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>
/// The real Qwen2.5 and Qwen3 tokenizers (NFC normalizer) encode every line of a multilingual corpus (Indic scripts,
/// Thai, Arabic with harakat, Hebrew with niqqud, NFD and NFKD input, emoji) to the ids Hugging Face's own Rust
/// tokenizers give (Tokenizers.DotNet runs them in-process), in this globalization-invariant test process.
/// </summary>
public sealed class HuggingFaceOracleTests
{
    [Theory]
    [InlineData("qwen2_5")]
    [InlineData("qwen3")]
    [InlineData("llama3_2")]
    public void EveryCorpusLineEncodesLikeHuggingFace(string name)
    {
        string folder = NpmTokenizers.Folder(name);
        var ours = BpeTokenizer.FromDirectory(folder);
        using var oracle = new Tokenizers.DotNet.Tokenizer(Path.Combine(folder, "tokenizer.json"));
        var lines = CorpusLines();
        Assert.True(lines.Count > 80, $"only {lines.Count} corpus lines");
        var failures = new List<string>();
        foreach (string line in lines)
        {
            int[] expected = oracle.Encode(line).Select(id => (int)id).ToArray();
            int[] actual = ours.Encode(line, addSpecialTokens: true);
            if (!expected.SequenceEqual(actual))
                failures.Add($"'{line}': ours [{string.Join(",", actual)}], Hugging Face [{string.Join(",", expected)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {lines.Count} lines differ, first: {string.Join("\n", failures.Take(3))}");
    }

    /// <summary>multilingual.txt as written, in NFD and in NFKD (the inputs of the normalization vectors).</summary>
    private static List<string> CorpusLines()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "normalization", "vectors.json");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(path));
        string corpus = Path.Combine(AppContext.BaseDirectory, "fixtures", "normalization", "multilingual.txt");
        int lineCount = File.ReadAllLines(corpus).Count(l => l.Trim().Length > 0);
        // The first rows of vectors.json are each corpus line, its NFD and its NFKD (duplicates removed), then random
        // strings; those random code points (some assigned only in recent Unicode versions) are left out here.
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => r[0].GetString()!).ToList();
        var lines = File.ReadAllLines(corpus).Where(l => l.Trim().Length > 0).ToList();
        lines.AddRange(rows.Take(lineCount * 3));
        return lines.Distinct().ToList();
    }
}
