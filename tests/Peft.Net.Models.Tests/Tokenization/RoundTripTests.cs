namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Decode(Encode(s)) gives back s on hundreds of strings, for every fixture tokenizer.</summary>
public class RoundTripTests
{
    private const char SentencePieceSpace = '\u2581';

    [Theory]
    [InlineData(TokenizerFixtures.Llama3)]
    [InlineData(TokenizerFixtures.Gpt2)]
    public void ByteLevel_RoundTripsAnyText(string fixture)
    {
        var tokenizer = TokenizerFixtures.Load(fixture);
        // Added tokens that swallow whitespace (lstrip/rstrip) are the one designed exception.
        var strings = RandomText.Tricky.Concat(RandomText.Strings(400, seed: 17)).ToList();
        AssertRoundTrips(tokenizer, strings);
    }

    [Fact]
    public void Llama2Style_RoundTripsTextWithoutTheSentencePieceSpace()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama2);
        var strings = RandomText.Tricky.Concat(RandomText.Strings(400, seed: 23, cp => cp != SentencePieceSpace))
            .Where(s => !s.Contains(SentencePieceSpace)).ToList();
        AssertRoundTrips(tokenizer, strings);
    }

    [Fact]
    public void Metaspace_RoundTripsTextThatDoesNotStartWithASpace()
    {
        // Metaspace (prepend_scheme "first") cannot tell a leading space from the one it prepends, as in Hugging Face.
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Metaspace);
        var strings = RandomText.Tricky.Concat(RandomText.Strings(400, seed: 29, cp => cp != SentencePieceSpace))
            .Where(s => !s.Contains(SentencePieceSpace) && !s.StartsWith(' ')).ToList();
        AssertRoundTrips(tokenizer, strings);
    }

    [Theory]
    [InlineData(TokenizerFixtures.Llama3)]
    [InlineData(TokenizerFixtures.Llama2)]
    public void Encode_IsThreadSafeAndDeterministic(string fixture)
    {
        var tokenizer = TokenizerFixtures.Load(fixture);
        var strings = RandomText.Strings(200, seed: 31).ToArray();
        var sequential = strings.Select(s => tokenizer.Encode(s)).ToArray();
        var parallel = new int[strings.Length][];
        Parallel.For(0, strings.Length, i => parallel[i] = tokenizer.Encode(strings[i]));
        for (int i = 0; i < strings.Length; i++)
            Assert.Equal(sequential[i], parallel[i]);
    }

    private static void AssertRoundTrips(Peft.Net.Models.Tokenization.BpeTokenizer tokenizer, IReadOnlyList<string> strings)
    {
        Assert.True(strings.Count >= 400);
        var failures = new List<string>();
        foreach (string s in strings)
        {
            int[] ids = tokenizer.Encode(s);
            string back = tokenizer.Decode(ids);
            if (back != s)
                failures.Add($"{TokenizerFixtures.Escape(s)} -> [{string.Join(",", ids)}] -> {TokenizerFixtures.Escape(back)}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {strings.Count} strings do not round-trip:\n" + string.Join("\n", failures.Take(10)));
    }
}
