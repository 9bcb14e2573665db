using System.Text.Json;

namespace Peft.Net.Models.Tokenization;

/// <summary>
/// What this tokenizer uses from Hugging Face's <c>tokenizer_config.json</c> (and <c>special_tokens_map.json</c>):
/// the special-token names and the add_bos_token/add_eos_token switches. Everything else (chat_template, …) is ignored.
/// </summary>
internal sealed record TokenizerConfig(string? BosToken, string? EosToken, string? PadToken, bool? AddBosToken,
    bool? AddEosToken, string? TokenizerClass, string Source)
{
    /// <summary>Reads tokenizer_config.json and special_tokens_map.json from a folder; null when neither exists.</summary>
    public static TokenizerConfig? FromDirectory(string directory)
    {
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        string mapPath = Path.Combine(directory, "special_tokens_map.json");
        var config = File.Exists(configPath) ? Read(configPath) : null;
        var map = File.Exists(mapPath) ? Read(mapPath) : null;
        if (config is null) return map;
        if (map is null) return config;
        return config with
        {
            BosToken = config.BosToken ?? map.BosToken,
            EosToken = config.EosToken ?? map.EosToken,
            PadToken = config.PadToken ?? map.PadToken,
        };
    }

    private static TokenizerConfig Read(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: the document must be a JSON object.");
            return new TokenizerConfig(
                TokenName(root, "bos_token", path), TokenName(root, "eos_token", path), TokenName(root, "pad_token", path),
                Bool(root, "add_bos_token", path), Bool(root, "add_eos_token", path),
                root.TryGetProperty("tokenizer_class", out var cls) && cls.ValueKind == JsonValueKind.String ? cls.GetString() : null,
                path);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
        {
            throw new InvalidDataException($"{path}: holds a string that is not valid Unicode ({e.Message}).", e);
        }
    }

    /// <summary>A special token given as "&lt;s&gt;" or as {"__type": "AddedToken", "content": "&lt;s&gt;", …}.</summary>
    private static string? TokenName(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Object when value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                => content.GetString(),
            _ => throw new InvalidDataException($"{path}: '{name}' must be a string or an object with \"content\"."),
        };
    }

    private static bool? Bool(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.Null => null,
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new InvalidDataException($"{path}: '{name}' must be true or false."),
        };
    }

    /// <summary>
    /// Llama-family tokenizer classes rebuild their template from add_bos_token (default true) and add_eos_token
    /// (default false) in transformers (LlamaTokenizerFast.update_post_processor); other classes keep the file's.
    /// </summary>
    public bool RebuildsTemplate =>
        TokenizerClass is { } name && name.Replace("Fast", "", StringComparison.Ordinal) is "LlamaTokenizer" or "CodeLlamaTokenizer" or "GemmaTokenizer";
}
