using System.Text;
using Peft.Net.Models.Tokenization.Decoders;
using Peft.Net.Models.Tokenization.Normalizers;
using Peft.Net.Models.Tokenization.PreTokenizers;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tests.Tokenization;

public class NormalizerAndDecoderTests
{
    [Fact]
    public void UnicodeForms_ComposeAndDecompose_WithoutGlobalizationData()
    {
        // The tests run with InvariantGlobalization=true: these work from Peft.Net's own tables.
        var nfc = new UnicodeFormNormalizer(NormalizationForm.FormC);
        Assert.Equal("héllo wörld 日本語 😀 가", nfc.Normalize("héllo wörld 日本語 😀 가"));
        Assert.Equal("plain ascii", new UnicodeFormNormalizer(NormalizationForm.FormKC).Normalize("plain ascii"));
        Assert.Equal("\u00e9", nfc.Normalize("e\u0301"));
        Assert.Equal("\u00c5", nfc.Normalize("\u212B"));               // ANGSTROM SIGN is a singleton that NFC maps to Å
        Assert.Equal("\uac00", nfc.Normalize("\u1100\u1161"));         // Hangul jamo compose into 가
        Assert.Equal("\u0915\u093C", nfc.Normalize("\u0915\u093C"));   // KA + NUKTA stays (U+0958 is excluded from composition)
        Assert.Equal("e\u0301", new UnicodeFormNormalizer(NormalizationForm.FormD).Normalize("\u00e9"));
        Assert.Equal("fi2", new UnicodeFormNormalizer(NormalizationForm.FormKC).Normalize("\ufb01\u00b2"));
        Assert.Equal("a\u0323\u0307", new UnicodeFormNormalizer(NormalizationForm.FormD).Normalize("a\u0307\u0323")); // canonical order
    }

    [Fact]
    public void Llama2Normalizer_PrependsAndReplacesSpaces()
    {
        var normalizer = new SequenceNormalizer([new PrependNormalizer("▁"), new ReplaceNormalizer(TextPattern.Literal(" "), "▁")]);
        Assert.Equal("▁Hello▁▁world", normalizer.Normalize("Hello  world"));
        Assert.Equal("", normalizer.Normalize(""));
    }

    [Fact]
    public void Lowercase_StripAccents_Strip_RegexReplace()
    {
        Assert.Equal("héllo ΣΑΣ".ToLowerInvariant(), new LowercaseNormalizer().Normalize("HÉLLO ΣΑΣ"));
        Assert.Equal("cafe", new StripAccentsNormalizer().Normalize("cafe\u0301"));
        Assert.Equal("a b", new StripNormalizer(left: true, right: true).Normalize(" \t a b \n"));
        Assert.Equal("a b ", new StripNormalizer(left: true, right: false).Normalize("  a b "));
        Assert.Equal("a_b_c", new ReplaceNormalizer(TextPattern.Regex(@"\s+"), "_").Normalize("a  b\t\nc"));
    }

    [Fact]
    public void SentencePieceDecoderChain_RestoresSpacesAndBytes()
    {
        var chain = new SequenceDecoder([
            new ReplaceDecoder(TextPattern.Literal("▁"), " "), new ByteFallbackDecoder(), new FuseDecoder(), new StripDecoder(' ', 1, 0)]);
        var tokens = new List<string> { "▁Hello", "▁", "<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "▁world" };
        chain.DecodeChain(tokens);
        Assert.Equal(["Hello 😀 world"], tokens);
    }

    [Fact]
    public void Strip_RemovesAtMostTheGivenCounts()
    {
        var tokens = new List<string> { "xxaxx", "x", "" };
        new StripDecoder('x', 1, 2).DecodeChain(tokens);
        Assert.Equal(["xa", "", ""], tokens);
    }

    [Fact]
    public void MetaspaceDecoder_DropsTheReplacementInTheFirstTokenOnly()
    {
        var tokens = new List<string> { "▁Hey", "▁friend", "▁▁x" };
        new MetaspaceDecoder('▁', PrependScheme.Always).DecodeChain(tokens);
        Assert.Equal(["Hey", " friend", "  x"], tokens);
        var never = new List<string> { "▁Hey" };
        new MetaspaceDecoder('▁', PrependScheme.Never).DecodeChain(never);
        Assert.Equal([" Hey"], never);
    }

    [Fact]
    public void ByteLevelDecoder_UsesRawUtf8ForTokensOutsideTheAlphabet()
    {
        var tokens = new List<string> { "Hello", "Ġwor", "ld", " plain text", "Ã©" };
        new ByteLevelDecoder().DecodeChain(tokens);
        Assert.Equal(["Hello world plain texté"], tokens);
    }
}
