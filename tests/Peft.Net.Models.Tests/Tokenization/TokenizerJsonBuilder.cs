using System.Text.Json;
using System.Text.Json.Nodes;

namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>Builds small tokenizer.json documents for tests of single components.</summary>
internal static class TokenizerJsonBuilder
{
    /// <summary>A BPE tokenizer.json; components are JSON text (or null) and <paramref name="model"/> adds model fields.</summary>
    public static string Bpe(IEnumerable<string> vocab, IEnumerable<string>? merges = null, string? preTokenizer = null,
        string? normalizer = null, string? decoder = null, string? postProcessor = null, string? addedTokens = null,
        string? model = null)
    {
        var modelNode = new JsonObject
        {
            ["type"] = "BPE",
            ["vocab"] = new JsonObject(vocab.Select((token, id) => KeyValuePair.Create(token, (JsonNode?)id))),
            ["merges"] = new JsonArray((merges ?? []).Select(m => (JsonNode?)m).ToArray()),
        };
        if (model is not null)
            foreach (var (key, value) in JsonNode.Parse(model)!.AsObject().ToList())
                modelNode[key] = value?.DeepClone();
        var root = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = JsonNode.Parse(addedTokens ?? "[]"),
            ["normalizer"] = Parse(normalizer),
            ["pre_tokenizer"] = Parse(preTokenizer),
            ["post_processor"] = Parse(postProcessor),
            ["decoder"] = Parse(decoder),
            ["model"] = modelNode,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
    }

    private static JsonNode? Parse(string? json) => json is null ? null : JsonNode.Parse(json);
}
