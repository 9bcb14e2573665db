namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Cuts normalized text into the words the BPE model encodes one by one.</summary>
internal interface IPreTokenizer
{
    /// <summary>
    /// Replaces every piece of <paramref name="pieces"/> by its sub-pieces, keeping their order.
    /// <paramref name="firstAtStart"/> tells whether <c>pieces[0]</c> begins at the start of the input text
    /// (Metaspace's <c>prepend_scheme: "first"</c> needs it).
    /// </summary>
    void PreTokenize(List<string> pieces, bool firstAtStart);
}
