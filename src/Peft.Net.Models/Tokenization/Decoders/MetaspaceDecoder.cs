using Peft.Net.Models.Tokenization.PreTokenizers;

namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>
/// Turns the Metaspace replacement (▁) back into spaces; in the first token it is dropped instead unless the
/// prepend scheme is "never" (it stood for the prefix space the pre-tokenizer added).
/// </summary>
internal sealed class MetaspaceDecoder(char replacement, PrependScheme scheme) : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
        {
            tokens[i] = i == 0 && scheme != PrependScheme.Never
                ? tokens[i].Replace(replacement.ToString(), "", StringComparison.Ordinal)
                : tokens[i].Replace(replacement, ' ');
        }
    }
}
