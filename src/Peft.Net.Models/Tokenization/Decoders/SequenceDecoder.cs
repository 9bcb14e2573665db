namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>Runs decoders one after the other.</summary>
internal sealed class SequenceDecoder(IReadOnlyList<ITokenDecoder> steps) : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        foreach (var step in steps) step.DecodeChain(tokens);
    }
}
