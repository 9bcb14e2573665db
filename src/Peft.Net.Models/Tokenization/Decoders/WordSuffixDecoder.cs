namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>
/// Original BPE's end-of-word suffix (<c>"type": "BPEDecoder"</c>, suffix "&lt;/w&gt;"): the suffix becomes a space,
/// except in the last token where it is dropped.
/// </summary>
internal sealed class WordSuffixDecoder(string suffix) : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        for (int i = 0; i < tokens.Count; i++)
            tokens[i] = tokens[i].Replace(suffix, i == tokens.Count - 1 ? "" : " ", StringComparison.Ordinal);
    }
}
