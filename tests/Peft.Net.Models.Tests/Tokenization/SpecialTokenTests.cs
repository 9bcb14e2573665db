using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Added tokens, BOS/EOS from tokenizer_config.json, byte fallback and ignore_merges on the fixtures.</summary>
public class SpecialTokenTests
{
    [Fact]
    public void Llama3_ReadsBosAndEosFromConfig_AndAddsBosWhenAsked()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        int bos = tokenizer.TokenToId("<|begin_of_text|>")!.Value;
        int eos = tokenizer.TokenToId("<|end_of_text|>")!.Value;
        Assert.Equal(bos, tokenizer.BosTokenId);
        Assert.Equal(eos, tokenizer.EosTokenId);
        Assert.Null(tokenizer.PadTokenId);
        Assert.Equal(tokenizer.AddedTokens.Max(t => t.Id) + 1, tokenizer.VocabSize);

        int[] plain = tokenizer.Encode("Hello world");
        int[] withBos = tokenizer.Encode("Hello world", addSpecialTokens: true);
        Assert.Equal([bos, .. plain], withBos);
        Assert.Equal("<|begin_of_text|>Hello world", tokenizer.Decode(withBos));
        Assert.Equal("Hello world", tokenizer.Decode(withBos, skipSpecialTokens: true));
    }

    [Fact]
    public void Llama2_ReadsConfigObjects_AndTemplateFromAddBosToken()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama2);
        Assert.Equal(1, tokenizer.BosTokenId);
        Assert.Equal(2, tokenizer.EosTokenId);
        Assert.Equal("<s>", tokenizer.IdToToken(1));
        Assert.Equal(1, tokenizer.Encode("Hi", addSpecialTokens: true)[0]);
        Assert.Equal([1], tokenizer.Encode("", addSpecialTokens: true));
    }

    [Fact]
    public void FromFile_WithoutConfig_TakesBosFromTheTemplate()
    {
        var tokenizer = BpeTokenizer.FromFile(Path.Combine(TokenizerFixtures.Directory(TokenizerFixtures.Llama3), "tokenizer.json"));
        Assert.Equal(tokenizer.TokenToId("<|begin_of_text|>"), tokenizer.BosTokenId);
        Assert.Equal(tokenizer.TokenToId("<|end_of_text|>"), tokenizer.EosTokenId); // well-known name
        Assert.Equal(Tokenizer.FromDirectory(TokenizerFixtures.Directory(TokenizerFixtures.Llama3)).Encode("abc def"),
            tokenizer.Encode("abc def"));
    }

    [Fact]
    public void Gpt2_HasNoPostProcessorTokens_AndReadsEosObject()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Gpt2);
        Assert.Equal(tokenizer.Encode("Hello"), tokenizer.Encode("Hello", addSpecialTokens: true));
        Assert.Equal(tokenizer.TokenToId("<|end_of_text|>"), tokenizer.EosTokenId);
    }

    [Fact]
    public void SpecialTokensInText_AreSingleIds_AndSkippedOnlyWhenAsked()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        int eot = tokenizer.TokenToId("<|eot_id|>")!.Value;
        int code = tokenizer.TokenToId("[CODE]")!.Value;
        int[] ids = tokenizer.Encode("Hi<|eot_id|>[CODE]x");
        Assert.Contains(eot, ids);
        Assert.Contains(code, ids);
        Assert.Equal("Hi<|eot_id|>[CODE]x", tokenizer.Decode(ids));
        Assert.Equal("Hi[CODE]x", tokenizer.Decode(ids, skipSpecialTokens: true)); // [CODE] is added but not special
        Assert.DoesNotContain(eot, tokenizer.Encode("<|eot_id")); // an unfinished marker is plain text
    }

    [Fact]
    public void AddedTokenFlags_LStripRStripSingleWord()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        int mask = tokenizer.TokenToId("<mask>")!.Value, cut = tokenizer.TokenToId("<cut>")!.Value, xyzzy = tokenizer.TokenToId("xyzzy")!.Value;
        Assert.Equal([.. tokenizer.Encode("a"), mask, .. tokenizer.Encode("b")], tokenizer.Encode("a  \t<mask>b"));
        Assert.Equal([.. tokenizer.Encode("x"), cut, .. tokenizer.Encode("y")], tokenizer.Encode("x<cut> \n y"));
        Assert.Equal(xyzzy, tokenizer.Encode("xyzzy")[0]);
        Assert.DoesNotContain(xyzzy, tokenizer.Encode("axyzzy xyzzyb"));
        Assert.Contains(xyzzy, tokenizer.Encode("(xyzzy)"));
    }

    [Fact]
    public void IgnoreMerges_FindsWholeWordsOnlyWhenSet()
    {
        var llama3 = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        var gpt2 = TokenizerFixtures.Load(TokenizerFixtures.Gpt2);
        int whole = llama3.TokenToId("Ġsupercalifragilistic")!.Value;
        Assert.Equal([whole], llama3.Encode(" supercalifragilistic"));
        int[] merged = gpt2.Encode(" supercalifragilistic");
        Assert.True(merged.Length > 1);
        Assert.Equal(" supercalifragilistic", gpt2.Decode(merged));
    }

    [Fact]
    public void ByteFallback_SpellsUnknownCharactersAsUtf8ByteTokens()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama2);
        Assert.Null(tokenizer.TokenToId("ẞ"));
        int[] ids = tokenizer.Encode("ẞ"); // U+1E9E = E1 BA 9E
        Assert.Equal(new[] { "▁", "<0xE1>", "<0xBA>", "<0x9E>" }, ids.Select(id => tokenizer.IdToToken(id)!).ToArray());
        Assert.Equal("ẞ", tokenizer.Decode(ids));

        int[] emoji = tokenizer.Encode("🚀");
        Assert.Equal(5, emoji.Length); // ▁ + four bytes
        Assert.Equal("🚀", tokenizer.Decode(emoji));
    }

    [Fact]
    public void ByteFallbackDecode_InvalidUtf8BecomesOneReplacementCharPerByte()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama2);
        int e1 = tokenizer.TokenToId("<0xE1>")!.Value, ba = tokenizer.TokenToId("<0xBA>")!.Value;
        int a = tokenizer.TokenToId("a")!.Value;
        Assert.Equal("\uFFFD\uFFFDa", tokenizer.Decode([e1, ba, a]));
    }

    [Fact]
    public void Decode_RejectsIdsOutsideTheVocabulary()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([0, tokenizer.VocabSize]));
        Assert.Contains(tokenizer.VocabSize.ToString(), e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([-1]));
    }

    [Fact]
    public void TokenToId_AndIdToToken_AreInverse()
    {
        var tokenizer = TokenizerFixtures.Load(TokenizerFixtures.Llama3);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            string? token = tokenizer.IdToToken(id);
            Assert.NotNull(token);
            Assert.Equal(id, tokenizer.TokenToId(token));
        }
        Assert.Null(tokenizer.IdToToken(tokenizer.VocabSize));
        Assert.Null(tokenizer.TokenToId("no such token"));
    }
}
