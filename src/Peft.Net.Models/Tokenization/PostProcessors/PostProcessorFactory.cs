using System.Text.Json;
using Peft.Net.Models.Tokenization.Json;

namespace Peft.Net.Models.Tokenization.PostProcessors;

/// <summary>Builds the post-processor described by the <c>"post_processor"</c> object of a tokenizer.json.</summary>
internal static class PostProcessorFactory
{
    private const string Supported = "TemplateProcessing, ByteLevel, RobertaProcessing, BertProcessing, Sequence";

    public static IPostProcessor? Create(JsonElement? json, TokenizerJsonContext context, string path = "post_processor")
    {
        if (json is not { } element) return null;
        string type = context.TypeOf(element, path);
        switch (type)
        {
            case "Sequence":
            {
                var steps = new List<IPostProcessor>();
                int i = 0;
                foreach (var item in context.RequiredArray(element, "processors", path).EnumerateArray())
                {
                    var step = Create(item, context, $"{path}.processors[{i++}]");
                    if (step is not null) steps.Add(step);
                }
                return new SequencePostProcessor(steps);
            }
            case "ByteLevel":
                return null; // only trims offsets, which this tokenizer does not report
            case "TemplateProcessing":
                return ParseTemplate(element, context, path);
            case "RobertaProcessing":
            case "BertProcessing":
                return new TemplatePostProcessor(
                    [ParseTokenPair(element, "cls", context, path)],
                    [ParseTokenPair(element, "sep", context, path)]);
            default:
                throw context.Unsupported("post-processor", type, Supported);
        }
    }

    /// <summary>The "single" template: a list of {"SpecialToken": {"id"}} and {"Sequence": {"id": "A"}} items, or "[CLS] $A [SEP]".</summary>
    private static TemplatePostProcessor ParseTemplate(JsonElement element, TokenizerJsonContext context, string path)
    {
        var specialTokens = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (TokenizerJsonContext.Optional(element, "special_tokens") is { ValueKind: JsonValueKind.Object } specials)
        {
            foreach (var entry in specials.EnumerateObject())
            {
                var ids = context.RequiredArray(entry.Value, "ids", $"{path}.special_tokens.{entry.Name}");
                specialTokens[entry.Name] = ids.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int id)
                    ? id
                    : throw context.Invalid($"{path}.special_tokens.{entry.Name}.ids", "must hold integers")).ToArray();
            }
        }

        var items = new List<string?>(); // null marks the sequence, otherwise a special token name
        var single = context.Required(element, "single", path);
        if (single.ValueKind == JsonValueKind.String)
        {
            foreach (string part in single.GetString()!.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                string name = part.Contains(':') ? part[..part.LastIndexOf(':')] : part;
                items.Add(name.StartsWith('$') ? null : name);
            }
        }
        else if (single.ValueKind == JsonValueKind.Array)
        {
            int i = 0;
            foreach (var item in single.EnumerateArray())
            {
                string itemPath = $"{path}.single[{i++}]";
                if (TokenizerJsonContext.Optional(item, "SpecialToken") is { } special)
                    items.Add(context.RequiredString(special, "id", itemPath + ".SpecialToken"));
                else if (TokenizerJsonContext.Optional(item, "Sequence") is not null)
                    items.Add(null);
                else
                    throw context.Invalid(itemPath, "must be {\"SpecialToken\": …} or {\"Sequence\": …}");
            }
        }
        else
        {
            throw context.Invalid(path + ".single", "must be a list or a template string");
        }

        int sequenceAt = items.IndexOf(null);
        if (sequenceAt < 0 || items.LastIndexOf(null) != sequenceAt)
            throw context.Invalid(path + ".single", "must contain the sequence exactly once");
        int[] Ids(IEnumerable<string?> names) => names.SelectMany(name => specialTokens.TryGetValue(name!, out var ids)
            ? ids
            : throw context.Invalid(path + ".single", $"names special token '{name}' that special_tokens does not define")).ToArray();
        return new TemplatePostProcessor(Ids(items.Take(sequenceAt)), Ids(items.Skip(sequenceAt + 1)));
    }

    /// <summary>Roberta/Bert "cls"/"sep": ["&lt;s&gt;", 0].</summary>
    private static int ParseTokenPair(JsonElement element, string name, TokenizerJsonContext context, string path)
    {
        var pair = context.RequiredArray(element, name, path);
        if (pair.GetArrayLength() != 2 || pair[1].ValueKind != JsonValueKind.Number || !pair[1].TryGetInt32(out int id))
            throw context.Invalid($"{path}.{name}", "must be [token, id]");
        return id;
    }
}
