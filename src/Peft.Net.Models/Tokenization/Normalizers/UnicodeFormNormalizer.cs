using System.Text;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>
/// Unicode normalization to NFC, NFD, NFKC or NFKD with Peft.Net's own tables (<see cref="UnicodeNormalization"/>),
/// so the result is the same with or without ICU, including in globalization-invariant mode
/// (<c>InvariantGlobalization=true</c>), where .NET's <see cref="string.Normalize(NormalizationForm)"/> does nothing.
/// </summary>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : INormalizer
{
    public string Normalize(string text) => UnicodeNormalization.Normalize(text, form);
}
