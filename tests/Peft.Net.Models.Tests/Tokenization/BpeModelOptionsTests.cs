using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>BPE model options on hand-made vocabularies: unk and fuse_unk, subword prefix/suffix, merge formats.</summary>
public class BpeModelOptionsTests
{
    private const string SplitOnSpaces = """{"type": "WhitespaceSplit"}""";

    [Fact]
    public void UnknownCharacters_BecomeUnk_FusedOrNot()
    {
        string[] vocab = ["<unk>", "a"];
        var fused = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, model: """{"unk_token": "<unk>", "fuse_unk": true}"""));
        var unfused = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, model: """{"unk_token": "<unk>", "fuse_unk": false}"""));
        Assert.Equal([1, 0, 1], fused.Encode("axxa"));
        Assert.Equal([1, 0, 0, 1], unfused.Encode("axxa"));
    }

    [Fact]
    public void UnknownCharacters_WithoutUnkOrByteFallback_AreDropped()
    {
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(["a"]));
        Assert.Equal([0, 0], tokenizer.Encode("aza"));
    }

    [Fact]
    public void ByteFallback_UsesUnkWhenAByteTokenIsMissing()
    {
        string[] vocab = ["<unk>", "a", "<0xC3>"]; // "é" is C3 A9 and <0xA9> is missing
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, model: """{"unk_token": "<unk>", "byte_fallback": true}"""));
        Assert.Equal([1, 0, 1], tokenizer.Encode("aéa"));
    }

    [Fact]
    public void MergesInBothFormats_GiveTheSameEncoding()
    {
        string[] vocab = ["a", "b", "c", "ab", "abc", "bc"];
        var strings = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, ["a b", "ab c", "b c"]));
        var pairs = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab).Replace("\"merges\":[]", """ "merges":[["a","b"],["ab","c"],["b","c"]] """));
        Assert.Equal([4], strings.Encode("abc"));
        Assert.Equal(strings.Encode("abcbcab"), pairs.Encode("abcbcab"));
        Assert.Equal([4, 5, 3], pairs.Encode("abcbcab"));
    }

    [Fact]
    public void MergeRanks_DecideTheOrder_NotTheVocabulary()
    {
        // "b c" has the lower rank, so "abc" becomes a + bc although "ab" exists and comes first in the vocabulary.
        string[] vocab = ["a", "b", "c", "ab", "bc", "abc"];
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, ["b c", "a b", "ab c"]));
        Assert.Equal([0, 4], tokenizer.Encode("abc"));
        var ignoring = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, ["b c", "a b", "ab c"], model: """{"ignore_merges": true}"""));
        Assert.Equal([5], ignoring.Encode("abc"));
    }

    [Fact]
    public void ContinuingSubwordPrefix_MarksNonInitialSymbols()
    {
        string[] vocab = ["a", "##b", "ab"];
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, ["a ##b"], preTokenizer: SplitOnSpaces,
            model: """{"continuing_subword_prefix": "##"}"""));
        Assert.Equal([2], tokenizer.Encode("ab"));
        Assert.Equal([2, 1, 2], tokenizer.Encode("abb ab"));
    }

    [Fact]
    public void EndOfWordSuffix_MarksTheLastSymbol_AndBpeDecoderTurnsItIntoSpaces()
    {
        string[] vocab = ["a", "b", "b</w>", "a</w>", "ab</w>"];
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(vocab, ["a b</w>"], preTokenizer: SplitOnSpaces,
            decoder: """{"type": "BPEDecoder", "suffix": "</w>"}""", model: """{"end_of_word_suffix": "</w>"}"""));
        int[] ids = tokenizer.Encode("ab a");
        Assert.Equal([4, 3], ids);
        Assert.Equal("ab a", tokenizer.Decode(ids));
    }

    [Fact]
    public void NoDecoder_JoinsTokensWithSpaces()
    {
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(["a", "b"]));
        Assert.Equal("a b a", tokenizer.Decode([0, 1, 0]));
    }

    [Fact]
    public void LongWordWithoutPreTokenizer_MergesCorrectly()
    {
        // 5000 a's with merges a+a -> aa, aa+aa -> aaaa: 1250 "aaaa" tokens (and the word is too long to cache).
        var tokenizer = BpeTokenizer.FromJson(TokenizerJsonBuilder.Bpe(["a", "aa", "aaaa"], ["a a", "aa aa"]));
        int[] ids = tokenizer.Encode(new string('a', 5002));
        Assert.Equal(1251, ids.Length);
        Assert.All(ids.Take(1250), id => Assert.Equal(2, id));
        Assert.Equal(1, ids[^1]);
    }
}
