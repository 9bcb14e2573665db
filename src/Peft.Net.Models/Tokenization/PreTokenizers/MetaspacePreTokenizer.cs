using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>
/// SentencePiece's whitespace handling (<c>"type": "Metaspace"</c>): spaces become the replacement character
/// (▁), which is prepended according to the scheme; with <c>split</c> every ▁ starts a new piece.
/// </summary>
internal sealed class MetaspacePreTokenizer(char replacement, PrependScheme scheme, bool split) : PieceByPiecePreTokenizer
{
    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        string text = piece.Replace(' ', replacement);
        bool prepend = scheme switch
        {
            PrependScheme.Always => true,
            PrependScheme.First => atStart,
            _ => false,
        };
        if (prepend && !text.StartsWith(replacement)) text = replacement + text;
        if (!split)
        {
            if (text.Length > 0) output.Add(text);
            return;
        }
        var matches = new List<MatchSpan>();
        for (int i = text.IndexOf(replacement); i >= 0; i = text.IndexOf(replacement, i + 1))
            matches.Add(new MatchSpan(i, i + 1));
        PieceSplitter.Split(text, matches, SplitBehavior.MergedWithNext, invert: false, output);
    }
}
