namespace Peft.Net.Models.Tokenization;

/// <summary>Text ↔ token ids, the part of a tokenizer that training and generation need.</summary>
public interface ITokenizer
{
    /// <summary>Number of ids the tokenizer can produce: the largest id plus one (the embedding table needs at least this many rows).</summary>
    int VocabSize { get; }

    /// <summary>Id of the beginning-of-sequence token, or null when the tokenizer has none.</summary>
    int? BosTokenId { get; }

    /// <summary>Id of the end-of-sequence token, or null when the tokenizer has none.</summary>
    int? EosTokenId { get; }

    /// <summary>Id of the padding token, or null when the tokenizer has none.</summary>
    int? PadTokenId { get; }

    /// <summary>Encodes <paramref name="text"/> into token ids.</summary>
    /// <param name="text">The text to encode.</param>
    /// <param name="addSpecialTokens">Also add the special tokens the model expects around a sequence (e.g. BOS in front).</param>
    /// <returns>The token ids.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    int[] Encode(string text, bool addSpecialTokens = false);

    /// <summary>Decodes token ids back into text.</summary>
    /// <param name="ids">The token ids.</param>
    /// <param name="skipSpecialTokens">Leave special tokens (BOS, EOS, padding, chat markers) out of the text.</param>
    /// <returns>The decoded text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative or not below <see cref="VocabSize"/>.</exception>
    string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false);
}
