using System.Globalization;
using System.Text;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Splits off punctuation characters (ASCII punctuation and Unicode P* categories; <c>"type": "Punctuation"</c>).</summary>
internal sealed class PunctuationPreTokenizer(SplitBehavior behavior) : PieceByPiecePreTokenizer
{
    private static readonly Func<Rune, bool> IsPunctuation = rune =>
        (rune.Value is > ' ' and < 0x7F && !char.IsAsciiLetterOrDigit((char)rune.Value))
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        var matches = new List<MatchSpan>();
        PieceSplitter.FindCharMatches(piece, IsPunctuation, matches);
        PieceSplitter.Split(piece, matches, behavior, invert: false, output);
    }
}
