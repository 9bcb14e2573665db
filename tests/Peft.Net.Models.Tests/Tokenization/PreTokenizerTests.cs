using System.Globalization;
using Peft.Net.Models.Tokenization.PreTokenizers;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Pre-tokenizers and the pattern machinery under them.</summary>
public class PreTokenizerTests
{
    private const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static List<string> Run(IPreTokenizer preTokenizer, string text, bool atStart = true)
    {
        var pieces = new List<string> { text };
        preTokenizer.PreTokenize(pieces, atStart);
        return pieces;
    }

    [Theory] // the examples of the tokenizers documentation for SplitDelimiterBehavior
    [InlineData("Removed", "the|final|countdown")]
    [InlineData("Isolated", "the|-|final|-|-|countdown")]
    [InlineData("MergedWithPrevious", "the-|final-|-|countdown")]
    [InlineData("MergedWithNext", "the|-final|-|-countdown")]
    [InlineData("Contiguous", "the|-|final|--|countdown")]
    public void Split_FollowsEachDelimiterBehavior(string behaviorName, string expected)
    {
        var behavior = Enum.Parse<SplitBehavior>(behaviorName);
        var split = new SplitPreTokenizer(TextPattern.Literal("-"), behavior, invert: false);
        Assert.Equal(expected, string.Join("|", Run(split, "the-final--countdown")));
    }

    [Fact]
    public void Split_Inverted_KeepsTheMatches()
    {
        var split = new SplitPreTokenizer(TextPattern.Regex(@"\d+"), SplitBehavior.Removed, invert: true);
        Assert.Equal(["12", "345"], Run(split, "ab12cd345"));
    }

    [Fact]
    public void Llama3Regex_SeesCodePointsNotSurrogates()
    {
        var split = new SplitPreTokenizer(TextPattern.Regex(Llama3Pattern), SplitBehavior.Isolated, invert: false);
        // Rust/Oniguruma: the emoji is the optional non-letter before the letters; 𠀀 and 𝐀 are letters.
        Assert.Equal(["😀abc", " 𠀀x", " 𝐀𝐁", " 1234".Substring(0, 1), "123", "4"], Run(split, "😀abc 𠀀x 𝐀𝐁 1234"));
        Assert.Equal(["I", "'M", " fine", "\n\n", "  ", " ok"], Run(split, "I'M fine\n\n   ok"));
    }

    [Fact]
    public void Representatives_HaveTheCategoryTheyStandFor()
    {
        for (var category = UnicodeCategory.UppercaseLetter; category <= UnicodeCategory.OtherNotAssigned; category++)
        {
            if (category == UnicodeCategory.Surrogate) continue;
            Assert.Equal(category, CharUnicodeInfo.GetUnicodeCategory(CodePointRegex.Representative(category)));
        }
    }

    [Theory]
    [InlineData(@"a++b", @"(?>a+)b")]
    [InlineData(@"\p{L}*+x", @"(?>\p{L}*)x")]
    [InlineData(@"[^\s\]]?+|(ab)++", @"(?>[^\s\]]?)|(?>(ab)+)")]
    [InlineData(@"\d{1,3}+", @"(?>\d{1,3})")]
    [InlineData(@"a+?b+", @"a+?b+")]
    public void PossessiveQuantifiers_BecomeAtomicGroups(string pattern, string expected)
    {
        Assert.Equal(expected, PossessiveQuantifiers.ToAtomicGroups(pattern));
    }

    [Fact]
    public void ByteLevel_AddsPrefixSpaceToEachPiece_AndSplitsWithGpt2Regex()
    {
        Assert.Equal(["ĠHello", "Ġworld", "!"], Run(new ByteLevelPreTokenizer(addPrefixSpace: true, useRegex: true), "Hello world!"));
        Assert.Equal(["Hello", "Ġworld"], Run(new ByteLevelPreTokenizer(false, true), "Hello world"));
        Assert.Equal(["HelloĠworldĊ"], Run(new ByteLevelPreTokenizer(false, false), "Hello world\n"));
        Assert.Equal(["Ã©"], Run(new ByteLevelPreTokenizer(false, false), "é")); // C3 A9
    }

    [Fact]
    public void Metaspace_PrependSchemes_AndSplit()
    {
        Assert.Equal(["▁Hey", "▁friend"], Run(new MetaspacePreTokenizer('▁', PrependScheme.Always, split: true), "Hey friend"));
        Assert.Equal(["Hey", "▁friend"], Run(new MetaspacePreTokenizer('▁', PrependScheme.First, split: true), "Hey friend", atStart: false));
        Assert.Equal(["▁Hey▁friend"], Run(new MetaspacePreTokenizer('▁', PrependScheme.First, split: false), "Hey friend"));
        Assert.Equal(["Hey", "▁", "▁friend"], Run(new MetaspacePreTokenizer('▁', PrependScheme.Never, split: true), "Hey  friend"));
    }

    [Fact]
    public void Digits_IndividualOrContiguous()
    {
        Assert.Equal(["a", "1", "2", "3", "b"], Run(new DigitsPreTokenizer(individualDigits: true), "a123b"));
        Assert.Equal(["a", "123", "b"], Run(new DigitsPreTokenizer(individualDigits: false), "a123b"));
    }

    [Fact]
    public void Whitespace_AndWhitespaceSplit_AndPunctuation()
    {
        Assert.Equal(["Hey", "friend", "!?", "x_1"], Run(new WhitespacePreTokenizer(splitOnly: false), "Hey friend!? x_1"));
        Assert.Equal(["Hey", "friend!?", "x"], Run(new WhitespacePreTokenizer(splitOnly: true), " Hey\tfriend!?\n x "));
        Assert.Equal(["Hey", ",", " you", "!"], Run(new PunctuationPreTokenizer(SplitBehavior.Isolated), "Hey, you!"));
    }

    [Fact]
    public void Sequence_RunsStepsInOrder()
    {
        var sequence = new SequencePreTokenizer([
            new SplitPreTokenizer(TextPattern.Regex(Llama3Pattern), SplitBehavior.Isolated, invert: false),
            new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false)]);
        Assert.Equal(["Hi", "Ġthere", "Ċ"], Run(sequence, "Hi there\n"));
    }
}
