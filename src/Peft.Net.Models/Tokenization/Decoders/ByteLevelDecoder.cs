using System.Text;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>
/// Maps byte-level characters back to bytes and decodes them as UTF-8 (invalid sequences become U+FFFD).
/// A token with a character outside the byte-level alphabet (an added token such as "&lt;|eot_id|&gt;" written
/// with other characters) contributes its own UTF-8 bytes, as in the tokenizers library.
/// </summary>
internal sealed class ByteLevelDecoder : ITokenDecoder
{
    public void DecodeChain(List<string> tokens)
    {
        var bytes = new List<byte>(tokens.Count * 4);
        foreach (string token in tokens)
        {
            int mark = bytes.Count;
            bool allMapped = true;
            foreach (char c in token)
            {
                if (!ByteLevelAlphabet.TryGetByte(c, out byte b)) { allMapped = false; break; }
                bytes.Add(b);
            }
            if (!allMapped)
            {
                bytes.RemoveRange(mark, bytes.Count - mark);
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
            }
        }
        tokens.Clear();
        tokens.Add(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes)));
    }
}
