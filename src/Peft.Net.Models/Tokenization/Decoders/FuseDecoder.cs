namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>Concatenates all tokens into one.</summary>
internal sealed class FuseDecoder : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        string fused = string.Concat(tokens);
        tokens.Clear();
        tokens.Add(fused);
    }
}
