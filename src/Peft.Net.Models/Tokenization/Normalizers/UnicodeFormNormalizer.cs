using System.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Unicode normalization to NFC, NFD, NFKC or NFKD.</summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => text.IsNormalized(form) ? text : text.Normalize(form);
}
