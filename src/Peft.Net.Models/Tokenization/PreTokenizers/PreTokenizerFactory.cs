using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>Builds the pre-tokenizer described by the <c>"pre_tokenizer"</c> object of a tokenizer.json.</summary>
internal static class PreTokenizerFactory
{
    private const string Supported =
        "ByteLevel, Split, Metaspace, Digits, Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, CharDelimiterSplit, Sequence";

    public static IPreTokenizer? Create(JsonElement? json, TokenizerJsonContext context, string path = "pre_tokenizer")
    {
        if (json is not { } element) return null;
        string type = context.TypeOf(element, path);
        switch (type)
        {
            case "Sequence":
            {
                var list = context.RequiredArray(element, "pretokenizers", path);
                var steps = new List<IPreTokenizer>();
                int i = 0;
                foreach (var item in list.EnumerateArray())
                    steps.Add(Create(item, context, $"{path}.pretokenizers[{i++}]")!);
                return new SequencePreTokenizer(steps);
            }
            case "ByteLevel":
                return new ByteLevelPreTokenizer(
                    context.OptionalBool(element, "add_prefix_space", true, path),
                    context.OptionalBool(element, "use_regex", true, path));
            case "Split":
                return new SplitPreTokenizer(
                    TextPattern.FromJson(context.Required(element, "pattern", path), context, path + ".pattern"),
                    PieceSplitter.ParseBehavior(context.RequiredString(element, "behavior", path), SplitBehavior.Isolated, context, path + ".behavior"),
                    context.OptionalBool(element, "invert", false, path));
            case "Metaspace":
                return new MetaspacePreTokenizer(
                    context.RequiredChar(element, "replacement", path),
                    ParsePrependScheme(element, context, path),
                    context.OptionalBool(element, "split", true, path));
            case "Digits":
                return new DigitsPreTokenizer(context.OptionalBool(element, "individual_digits", false, path));
            case "Whitespace":
                return new WhitespacePreTokenizer(splitOnly: false);
            case "WhitespaceSplit":
                return new WhitespacePreTokenizer(splitOnly: true);
            case "Punctuation":
                return new PunctuationPreTokenizer(PieceSplitter.ParseBehavior(
                    context.OptionalString(element, "behavior", path), SplitBehavior.Isolated, context, path + ".behavior"));
            case "BertPreTokenizer":
                return new SequencePreTokenizer([new WhitespacePreTokenizer(splitOnly: true), new PunctuationPreTokenizer(SplitBehavior.Isolated)]);
            case "CharDelimiterSplit":
                return new SplitPreTokenizer(
                    TextPattern.Literal(context.RequiredChar(element, "delimiter", path).ToString()), SplitBehavior.Removed, invert: false);
            default:
                throw context.Unsupported("pre-tokenizer", type, Supported);
        }
    }

    /// <summary>"prepend_scheme" ("always", "first", "never"), or the older boolean "add_prefix_space".</summary>
    public static PrependScheme ParsePrependScheme(JsonElement element, TokenizerJsonContext context, string path)
    {
        string? scheme = context.OptionalString(element, "prepend_scheme", path);
        return scheme switch
        {
            null => context.OptionalBool(element, "add_prefix_space", true, path) ? PrependScheme.Always : PrependScheme.Never,
            "always" => PrependScheme.Always,
            "first" => PrependScheme.First,
            "never" => PrependScheme.Never,
            _ => throw context.Invalid(path + ".prepend_scheme", $"is '{scheme}' (expected always, first or never)"),
        };
    }
}
