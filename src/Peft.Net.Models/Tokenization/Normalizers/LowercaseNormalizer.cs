namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Lower-cases with the invariant culture's simple case mapping.</summary>
internal sealed class LowercaseNormalizer : INormalizer
{
    public string Normalize(string text) => text.ToLowerInvariant();
}
