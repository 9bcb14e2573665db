using System.Text;
using System.Text.Json;
using Peft.Net.Models.Tokenization.Normalizers;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>
/// NFC/NFD/NFKC/NFKD without ICU (this test assembly runs with InvariantGlobalization=true) against Python's
/// unicodedata (tests/fixtures/make_normalization.py): multilingual lines in composed and decomposed form, and random
/// strings of decomposable, composable and combining code points.
/// </summary>
public sealed class UnicodeNormalizationTests
{
    private static readonly NormalizationForm[] Forms =
        [NormalizationForm.FormC, NormalizationForm.FormD, NormalizationForm.FormKC, NormalizationForm.FormKD];

    [Fact]
    public void TheTestProcessHasNoIcuNormalization()
    {
        // The point of the tables: in invariant mode .NET's own Normalize leaves text unchanged.
        Assert.Equal("e\u0301", "e\u0301".Normalize(NormalizationForm.FormC));
    }

    [Fact]
    public void EveryVectorMatchesPythonUnicodedata()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "normalization", "vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows.Count > 1500, $"only {rows.Count} vectors in {path}");
        var failures = new List<string>();
        foreach (var row in rows)
        {
            string input = row[0].GetString()!;
            for (int f = 0; f < Forms.Length; f++)
            {
                string expected = row[f + 1].GetString()!;
                string actual = UnicodeNormalization.Normalize(input, Forms[f]);
                if (actual != expected) failures.Add($"{Forms[f]}({Escape(input)}) = {Escape(actual)}, expected {Escape(expected)}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches, first: {string.Join("\n", failures.Take(5))}");
    }

    [Theory]
    [InlineData("\ud800abc")]
    [InlineData("abc\udc00")]
    [InlineData("\udc00\ud800")]
    public void UnpairedSurrogatesPassThrough(string text)
    {
        foreach (var form in Forms) Assert.Equal(text, new UnicodeFormNormalizer(form).Normalize(text));
    }

    [Fact]
    public void AlreadyNormalizedTextIsReturnedAsIs()
    {
        string text = "नमस्ते ภาษาไทย اَلسَّلَامُ שָׁלוֹם 👍🏽";
        Assert.Same(text, UnicodeNormalization.Normalize(text, NormalizationForm.FormC) is var n && n == text ? text : n);
        Assert.Equal("Ame\u0301lie", UnicodeNormalization.Normalize("Amélie", NormalizationForm.FormD));
        Assert.Equal("한", UnicodeNormalization.Normalize("\u1112\u1161\u11ab", NormalizationForm.FormC));
    }

    private static string Escape(string s) => string.Concat(s.EnumerateRunes().Select(r => r.Value < 0x80 ? r.ToString() : $"\\u{r.Value:X4}"));
}
