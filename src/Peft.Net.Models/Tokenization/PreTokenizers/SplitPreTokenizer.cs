using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Splits at the matches of a string or regex pattern (<c>"type": "Split"</c>, used by Llama 3 and Qwen2).</summary>
internal sealed class SplitPreTokenizer(TextPattern pattern, SplitBehavior behavior, bool invert) : PieceByPiecePreTokenizer
{
    protected override void SplitPiece(string piece, bool atStart, List<string> output)
    {
        var matches = new List<MatchSpan>();
        pattern.FindMatches(piece, matches);
        PieceSplitter.Split(piece, matches, behavior, invert, output);
    }
}
