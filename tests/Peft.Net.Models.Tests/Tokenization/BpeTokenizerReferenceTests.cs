using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Encodings and decodings equal those of the Python reference encoder in make_tokenizer.py.</summary>
public class BpeTokenizerReferenceTests
{
    public static TheoryData<string> Fixtures => new(TokenizerFixtures.All);

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Encode_MatchesPythonReference(string fixture)
    {
        var tokenizer = TokenizerFixtures.Load(fixture);
        var cases = TokenizerFixtures.Expected(fixture);
        Assert.True(cases.Count > 150, "the fixture should hold the fixed and the random strings");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            int[] ids = tokenizer.Encode(c.Text, c.AddSpecialTokens);
            if (!ids.SequenceEqual(c.Ids))
                failures.Add($"{TokenizerFixtures.Escape(c.Text)} (addSpecial={c.AddSpecialTokens}): expected [{string.Join(",", c.Ids)}] " +
                             $"got [{string.Join(",", ids)}] = {string.Join("|", ids.Select(tokenizer.IdToToken))}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} encodings differ:\n" + string.Join("\n", failures.Take(10)));
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Decode_MatchesPythonReference(string fixture)
    {
        var tokenizer = TokenizerFixtures.Load(fixture);
        var failures = new List<string>();
        foreach (var c in TokenizerFixtures.Expected(fixture))
        {
            string decoded = tokenizer.Decode(c.Ids);
            string skipped = tokenizer.Decode(c.Ids, skipSpecialTokens: true);
            if (decoded != c.Decoded)
                failures.Add($"{TokenizerFixtures.Escape(c.Text)}: expected {TokenizerFixtures.Escape(c.Decoded)} got {TokenizerFixtures.Escape(decoded)}");
            if (skipped != c.DecodedSkipSpecial)
                failures.Add($"{TokenizerFixtures.Escape(c.Text)} (skip special): expected {TokenizerFixtures.Escape(c.DecodedSkipSpecial)} got {TokenizerFixtures.Escape(skipped)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} decodings differ:\n" + string.Join("\n", failures.Take(10)));
    }
}
