namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Runs pre-tokenizers one after the other (<c>"type": "Sequence"</c>).</summary>
internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    public void PreTokenize(List<string> pieces, bool firstAtStart)
    {
        foreach (var step in steps) step.PreTokenize(pieces, firstAtStart);
    }
}
