using System.Text;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Splits ASCII digits from the rest: each digit alone, or runs of digits (<c>"type": "Digits"</c>).</summary>
internal sealed class DigitsPreTokenizer(bool individualDigits) : PieceByPiecePreTokenizer
{
    private static readonly Func<Rune, bool> IsAsciiDigit = rune => rune.Value is >= '0' and <= '9';

    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        var matches = new List<MatchSpan>();
        PieceSplitter.FindCharMatches(piece, IsAsciiDigit, matches);
        PieceSplitter.Split(piece, matches, individualDigits ? SplitBehavior.Isolated : SplitBehavior.Contiguous, invert: false, output);
    }
}
