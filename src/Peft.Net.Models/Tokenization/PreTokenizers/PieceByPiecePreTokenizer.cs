namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Base for pre-tokenizers that split each piece on its own.</summary>
internal abstract class PieceByPiecePreTokenizer : IPreTokenizer
{
    public void PreTokenize(List<string> pieces, bool firstAtStart)
    {
        if (pieces.Count == 0) return;
        var result = new List<string>(pieces.Count * 4);
        for (int i = 0; i < pieces.Count; i++)
            SplitPiece(pieces[i], firstAtStart && i == 0, result);
        pieces.Clear();
        pieces.AddRange(result);
    }

    /// <summary>Appends the non-empty sub-pieces of <paramref name="piece"/> to <paramref name="output"/>.</summary>
    protected abstract void SplitPiece(string piece, bool atStart, List<string> output);
}
