using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Tests.Tokenization;

public class ByteTokenizerTests
{
    private readonly ByteTokenizer _tokenizer = new();

    [Fact]
    public void Encode_GivesUtf8Bytes_AndBosWhenAsked()
    {
        Assert.Equal([104, 105], _tokenizer.Encode("hi"));
        Assert.Equal([ByteTokenizer.Bos, 0xC3, 0xA9], _tokenizer.Encode("é", addSpecialTokens: true));
        Assert.Equal(259, _tokenizer.VocabSize);
        Assert.Equal((256, 257, 258), (_tokenizer.BosTokenId, _tokenizer.EosTokenId, _tokenizer.PadTokenId));
    }

    [Fact]
    public void RoundTrips_RandomUnicode()
    {
        foreach (string s in RandomText.Tricky.Concat(RandomText.Strings(300, seed: 5)))
            Assert.Equal(s, _tokenizer.Decode(_tokenizer.Encode(s, addSpecialTokens: true), skipSpecialTokens: true));
    }

    [Fact]
    public void Decode_WritesOrSkipsSpecials_AndReplacesBrokenUtf8()
    {
        int[] ids = [ByteTokenizer.Bos, 'a', ByteTokenizer.Eos, ByteTokenizer.Pad];
        Assert.Equal("<s>a</s><pad>", _tokenizer.Decode(ids));
        Assert.Equal("a", _tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("\uFFFDa", _tokenizer.Decode([0xC3, 'a']));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tokenizer.Decode([259]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tokenizer.Decode([-1]));
    }
}
