using System.Text;

namespace Peft.Net.Models.Tokenization.Text;

/// <summary>Character classes with the meaning Rust's <c>char</c> methods give them (the tokenizers library is Rust).</summary>
internal static class UnicodeText
{
    /// <summary>The Unicode White_Space property (Rust's <c>char::is_whitespace</c>).</summary>
    public static bool IsWhiteSpace(char c) => c switch
    {
        >= '\t' and <= '\r' or ' ' or '\u0085' or '\u00A0' or '\u1680' or '\u2028' or '\u2029' or '\u202F' or '\u205F' or '\u3000' => true,
        >= '\u2000' and <= '\u200A' => true,
        _ => false,
    };

    /// <summary>Letters, numbers or '_' (a "word" character for added tokens with <c>single_word</c>).</summary>
    public static bool IsWordCharacter(Rune rune) => Rune.IsLetter(rune) || Rune.IsNumber(rune) || rune.Value == '_';

    /// <summary>The code point that ends just before <paramref name="index"/>.</summary>
    public static Rune RuneBefore(string text, int index)
    {
        Rune.DecodeLastFromUtf16(text.AsSpan(0, index), out Rune rune, out _);
        return rune;
    }

    /// <summary>The code point that starts at <paramref name="index"/>.</summary>
    public static Rune RuneAt(string text, int index)
    {
        Rune.DecodeFromUtf16(text.AsSpan(index), out Rune rune, out _);
        return rune;
    }

    public static bool ContainsSurrogate(ReadOnlySpan<char> text) =>
        text.IndexOfAnyInRange('\uD800', '\uDFFF') >= 0;
}
