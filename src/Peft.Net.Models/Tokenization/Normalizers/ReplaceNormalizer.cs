using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Replaces every match of a string or regex pattern (Llama 2 replaces " " with "▁").</summary>
internal sealed class ReplaceNormalizer(TextPattern pattern, string content) : INormalizer
{
    public string Normalize(string text) => pattern.Replace(text, content);
}
