using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>Replaces a pattern in every token (Llama 2 turns "▁" back into " ").</summary>
internal sealed class ReplaceDecoder(TextPattern pattern, string content) : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        for (int i = 0; i < tokens.Count; i++) tokens[i] = pattern.Replace(tokens[i], content);
    }
}
