using System.Text;
using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.Normalizers;

/// <summary>Builds the normalizer described by the <c>"normalizer"</c> object of a tokenizer.json.</summary>
internal static class NormalizerFactory
{
    private const string Supported = "NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents, Sequence";

    public static INormalizer? Create(JsonElement? json, TokenizerJsonContext context, string path = "normalizer")
    {
        if (json is not { } element) return null;
        string type = context.TypeOf(element, path);
        switch (type)
        {
            case "Sequence":
            {
                var steps = new List<INormalizer>();
                int i = 0;
                foreach (var item in context.RequiredArray(element, "normalizers", path).EnumerateArray())
                    steps.Add(Create(item, context, $"{path}.normalizers[{i++}]")!);
                return new SequenceNormalizer(steps);
            }
            case "NFC": return new UnicodeFormNormalizer(NormalizationForm.FormC);
            case "NFD": return new UnicodeFormNormalizer(NormalizationForm.FormD);
            case "NFKC": return new UnicodeFormNormalizer(NormalizationForm.FormKC);
            case "NFKD": return new UnicodeFormNormalizer(NormalizationForm.FormKD);
            case "Lowercase": return new LowercaseNormalizer();
            case "StripAccents": return new StripAccentsNormalizer();
            case "Prepend": return new PrependNormalizer(context.RequiredString(element, "prepend", path));
            case "Replace":
                return new ReplaceNormalizer(
                    TextPattern.FromJson(context.Required(element, "pattern", path), context, path + ".pattern"),
                    context.RequiredString(element, "content", path));
            case "Strip":
                return new StripNormalizer(
                    context.OptionalBool(element, "strip_left", true, path),
                    context.OptionalBool(element, "strip_right", true, path));
            default:
                throw context.Unsupported("normalizer", type, Supported);
        }
    }
}
