using System.Globalization;
using System.Text;

namespace Peft.Net.Models.Tokenization.Decoders;

/// <summary>
/// Joins runs of SentencePiece byte tokens (<c>&lt;0xE2&gt;&lt;0x96&gt;&lt;0x81&gt;</c>) into the text they encode; a run that is
/// not valid UTF-8 becomes one U+FFFD per byte token, as in the tokenizers library.
/// </summary>
internal sealed class ByteFallbackDecoder : ITokenDecoder
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public void DecodeChain(List<string> tokens)
    {
        var result = new List<string>(tokens.Count);
        var pending = new List<byte>();
        foreach (string token in tokens)
        {
            if (TryParseByteToken(token, out byte value))
            {
                pending.Add(value);
                continue;
            }
            Flush(pending, result);
            result.Add(token);
        }
        Flush(pending, result);
        tokens.Clear();
        tokens.AddRange(result);
    }

    /// <summary>True for tokens of the form &lt;0xAB&gt; (two hex digits).</summary>
    public static bool TryParseByteToken(string token, out byte value)
    {
        value = 0;
        return token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
               && byte.TryParse(token.AsSpan(3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
    }

    private static void Flush(List<byte> pending, List<string> result)
    {
        if (pending.Count == 0) return;
        try
        {
            result.Add(StrictUtf8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending)));
        }
        catch (DecoderFallbackException)
        {
            for (int i = 0; i < pending.Count; i++) result.Add("\uFFFD");
        }
        pending.Clear();
    }
}
