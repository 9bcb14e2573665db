using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>
/// <c>"type": "Whitespace"</c> keeps runs of word characters and runs of other non-space characters
/// (<c>\w+|[^\w\s]+</c>); <c>"type": "WhitespaceSplit"</c> keeps everything between whitespace.
/// </summary>
internal sealed class WhitespacePreTokenizer(bool splitOnly) : PieceByPiecePreTokenizer
{
    private static readonly CodePointRegex WordsAndSymbols = new(@"\w+|[^\w\s]+");

    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        var matches = new List<MatchSpan>();
        if (splitOnly)
        {
            PieceSplitter.FindCharMatches(piece, rune => rune.IsBmp && UnicodeText.IsWhiteSpace((char)rune.Value), matches);
            PieceSplitter.Split(piece, matches, SplitBehavior.Removed, invert: false, output);
        }
        else
        {
            WordsAndSymbols.FindMatches(piece, matches);
            PieceSplitter.Split(piece, matches, SplitBehavior.Removed, invert: true, output);
        }
    }
}
