using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>
/// GPT-2's byte-level pre-tokenizer (<c>"type": "ByteLevel"</c>): optionally adds a leading space, optionally splits
/// with the GPT-2 regex, then spells every UTF-8 byte of each piece with <see cref="ByteLevelAlphabet"/>.
/// </summary>
internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : PieceByPiecePreTokenizer
{
    /// <summary>The pattern GPT-2 (and every ByteLevel pre-tokenizer with use_regex) splits with.</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private static readonly CodePointRegex Gpt2Regex = new(Gpt2Pattern);

    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        // The tokenizers library prefixes every piece that reaches this step, not only the first one.
        if (addPrefixSpace && !piece.StartsWith(' ')) piece = " " + piece;
        if (!useRegex)
        {
            output.Add(ByteLevelAlphabet.Encode(piece));
            return;
        }
        var matches = new List<MatchSpan>();
        Gpt2Regex.FindMatches(piece, matches);
        var words = new List<string>(matches.Count + 1);
        PieceSplitter.Split(piece, matches, SplitBehavior.Isolated, invert: false, words);
        foreach (string word in words) output.Add(ByteLevelAlphabet.Encode(word));
    }
}
