namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Applies normalizers one after the other.</summary>
internal sealed class SequenceNormalizer(IReadOnlyList<INormalizer> steps) : INormalizer
{
    public string Normalize(string text)
    {
        foreach (var step in steps) text = step.Normalize(text);
        return text;
    }
}
