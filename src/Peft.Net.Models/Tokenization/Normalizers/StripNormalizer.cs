using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Removes whitespace at the left and/or right end.</summary>
internal sealed class StripNormalizer(bool left, bool right) : INormalizer
{
    public string Normalize(string text)
    {
        int start = 0, end = text.Length;
        if (left) while (start < end && UnicodeText.IsWhiteSpace(text[start])) start++;
        if (right) while (end > start && UnicodeText.IsWhiteSpace(text[end - 1])) end--;
        return start == 0 && end == text.Length ? text : text[start..end];
    }
}
