using System.Text;

namespace Peft.Net.Models.Tokenization;

/// <summary>
/// A byte-level tokenizer for demos and tests without a tokenizer.json: ids 0–255 are the UTF-8 bytes of the
/// text, followed by three special tokens (<see cref="BosTokenId"/>, <see cref="EosTokenId"/>, <see cref="PadTokenId"/>).
/// </summary>
public sealed class ByteTokenizer : ITokenizer
{
    /// <summary>How the special tokens are written by <see cref="Decode"/> when they are not skipped.</summary>
    public const string BosToken = "<s>", EosToken = "</s>", PadToken = "<pad>";

    /// <summary>Id of the beginning-of-sequence token (256).</summary>
    public const int Bos = 256;

    /// <summary>Id of the end-of-sequence token (257).</summary>
    public const int Eos = 257;

    /// <summary>Id of the padding token (258).</summary>
    public const int Pad = 258;

    /// <inheritdoc/>
    /// <remarks>259: 256 byte values and three special tokens.</remarks>
    public int VocabSize => 259;

    /// <inheritdoc/>
    public int? BosTokenId => Bos;

    /// <inheritdoc/>
    public int? EosTokenId => Eos;

    /// <inheritdoc/>
    public int? PadTokenId => Pad;

    /// <inheritdoc/>
    /// <remarks>With <paramref name="addSpecialTokens"/> the BOS id comes first. Text that looks like a special
    /// token ("&lt;s&gt;") is encoded as its bytes.</remarks>
    public int[] Encode(string text, bool addSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        int offset = addSpecialTokens ? 1 : 0;
        var ids = new int[Encoding.UTF8.GetByteCount(text) + offset];
        if (addSpecialTokens) ids[0] = Bos;
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        for (int i = 0; i < bytes.Length; i++) ids[offset + i] = bytes[i];
        return ids;
    }

    /// <inheritdoc/>
    /// <remarks>Byte runs that are not valid UTF-8 (a cut-off character) become U+FFFD.</remarks>
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false)
    {
        var text = new StringBuilder(ids.Length);
        var bytes = new List<byte>(ids.Length);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the byte tokenizer's vocabulary 0..{VocabSize - 1}.");
            if (id < 256)
            {
                bytes.Add((byte)id);
                continue;
            }
            Flush(bytes, text);
            if (!skipSpecialTokens) text.Append(id switch { Bos => BosToken, Eos => EosToken, _ => PadToken });
        }
        Flush(bytes, text);
        return text.ToString();
    }

    private static void Flush(List<byte> bytes, StringBuilder text)
    {
        if (bytes.Count == 0) return;
        text.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
        bytes.Clear();
    }
}
