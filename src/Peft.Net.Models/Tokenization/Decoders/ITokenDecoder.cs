namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>
/// Turns token strings back into text, one step of a chain (the tokenizers library's <c>decode_chain</c>): each
/// step rewrites the list in place; the decoded text is the concatenation of the final list.
/// </summary>
internal interface ITokenDecoder
{
    void DecodeChain(List<string> tokens);
}
