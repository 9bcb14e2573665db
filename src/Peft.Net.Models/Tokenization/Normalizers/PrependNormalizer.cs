namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Puts a fixed string in front of non-empty text (Llama 2 prepends "▁").</summary>
internal sealed class PrependNormalizer(string prefix) : INormalizer
{
    public string Normalize(string text) => text.Length == 0 ? text : prefix + text;
}
