using System.Text.Json;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models;

/// <summary>
/// The ids that end a chat reply: the union of <c>eos_token_id</c> in generation_config.json (an id or a list:
/// Llama 3 Instruct lists &lt;|eot_id|&gt;, Qwen &lt;|im_end|&gt;, Gemma &lt;end_of_turn&gt;), the config's EOS ids and the
/// tokenizer's EOS token, as transformers' generate stops on any of them.
/// </summary>
public static class ChatStopTokens
{
    /// <summary>Collects the stop ids of a model folder.</summary>
    /// <param name="modelDirectory">The folder (generation_config.json is optional).</param>
    /// <param name="configEosTokenIds">The EOS ids of config.json.</param>
    /// <param name="tokenizer">The tokenizer, whose EOS id is added; may be null.</param>
    /// <returns>The distinct ids, in first-seen order.</returns>
    /// <exception cref="InvalidDataException">generation_config.json is not valid JSON or its eos_token_id is not an id or a list of ids.</exception>
    public static IReadOnlyList<int> FromDirectory(string modelDirectory, IEnumerable<int> configEosTokenIds, ITokenizer? tokenizer)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        ArgumentNullException.ThrowIfNull(configEosTokenIds);
        var ids = new List<int>();
        string path = Path.Combine(modelDirectory, "generation_config.json");
        if (File.Exists(path))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("eos_token_id", out var eos))
                {
                    if (eos.ValueKind == JsonValueKind.Number) ids.Add(eos.GetInt32());
                    else if (eos.ValueKind == JsonValueKind.Array) ids.AddRange(eos.EnumerateArray().Select(e => e.GetInt32()));
                    else if (eos.ValueKind != JsonValueKind.Null)
                        throw new InvalidDataException($"{path}: eos_token_id must be an id or a list of ids.");
                }
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"{path}: not valid JSON or eos_token_id is not a list of integers ({e.Message}).", e);
            }
        }
        ids.AddRange(configEosTokenIds);
        if (tokenizer?.EosTokenId is { } tokenizerEos) ids.Add(tokenizerEos);
        return ids.Distinct().ToArray();
    }
}
