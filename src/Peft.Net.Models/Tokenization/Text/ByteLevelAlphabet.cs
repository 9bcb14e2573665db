using System.Text;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>
/// GPT-2's reversible map between the 256 byte values and printable characters: byte-level BPE vocabularies
/// spell every UTF-8 byte as one of these characters (the space byte 0x20 is 'Ġ', newline 0x0A is 'Ċ').
/// </summary>
internal static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(p => p.c, p => (byte)p.b);

    public static char CharOf(byte value) => ByteToChar[value];

    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    /// <summary>The UTF-8 bytes of <paramref name="text"/>, each spelled as its byte-level character.</summary>
    public static string Encode(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return string.Create(bytes.Length, bytes, static (chars, raw) =>
        {
            for (int i = 0; i < raw.Length; i++) chars[i] = ByteToChar[raw[i]];
        });
    }

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        var printable = new bool[256];
        for (int b = '!'; b <= '~'; b++) printable[b] = true;
        for (int b = 0xA1; b <= 0xAC; b++) printable[b] = true;
        for (int b = 0xAE; b <= 0xFF; b++) printable[b] = true;
        int next = 256;
        for (int b = 0; b < 256; b++)
            table[b] = printable[b] ? (char)b : (char)next++;
        return table;
    }
}
