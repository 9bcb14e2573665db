using System.Text;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>
/// Unicode normalization to NFC, NFD, NFKC or NFKD with .NET's globalization data.
/// </summary>
/// <remarks>
/// In globalization-invariant mode (<c>InvariantGlobalization=true</c>) .NET has no normalization data and
/// <see cref="string.Normalize(NormalizationForm)"/> returns its input unchanged. Then ASCII text, and for NFC any
/// text that <see cref="NfcQuickCheck"/> proves normalized (the usual case), pass through; other text throws
/// <see cref="NotSupportedException"/> rather than being encoded differently from Hugging Face.
/// </remarks>
internal sealed class UnicodeFormNormalizer(NormalizationForm form) : INormalizer
{
    /// <summary>Whether this process can normalize (false in globalization-invariant mode).</summary>
    public static readonly bool PlatformCanNormalize = ProbePlatform();

    public string Normalize(string text)
    {
        if (PlatformCanNormalize) return text.IsNormalized(form) ? text : text.Normalize(form);
        if (Ascii.IsValid(text)) return text;
        if (form == NormalizationForm.FormC && NfcQuickCheck.IsNormalized(text)) return text;
        throw new NotSupportedException(
            $"The tokenizer's {Name(form)} normalizer needs Unicode normalization data, but this process runs in " +
            "globalization-invariant mode (InvariantGlobalization=true), where .NET cannot normalize text such as " +
            $"{Describe(text)}. Set <InvariantGlobalization>false</InvariantGlobalization> in the application's project " +
            "(and install ICU on Linux) to encode this text.");
    }

    private static bool ProbePlatform()
    {
        try
        {
            return "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";
        }
        catch (PlatformNotSupportedException)
        {
            return false;
        }
    }

    private static string Name(NormalizationForm form) => form switch
    {
        NormalizationForm.FormC => "NFC",
        NormalizationForm.FormD => "NFD",
        NormalizationForm.FormKC => "NFKC",
        _ => "NFKD",
    };

    private static string Describe(string text) =>
        "\"" + (text.Length > 40 ? text[..40] + "…" : text) + "\"";
}
