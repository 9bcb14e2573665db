using System.Text.Json;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>Finds a model folder's chat template (chat_template.jinja over tokenizer_config.json) and its special tokens.</summary>
internal static class ChatTemplateFiles
{
    private static readonly string[] TokenNames = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];

    public static ChatTemplate? Load(string directory, string? name)
    {
        ArgumentNullException.ThrowIfNull(directory);
        string configPath = Path.Combine(directory, "tokenizer_config.json");
        string jinjaPath = Path.Combine(directory, "chat_template.jinja");
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        string? source = null;
        if (File.Exists(configPath)) ReadConfig(configPath, tokens, templates);
        if (name is null && File.Exists(jinjaPath)) source = File.ReadAllText(jinjaPath);
        else if (name is not null && File.Exists(Path.Combine(directory, "additional_chat_templates", name + ".jinja")))
            source = File.ReadAllText(Path.Combine(directory, "additional_chat_templates", name + ".jinja"));
        else if (templates.Count > 0)
        {
            string key = name ?? "default";
            if (!templates.TryGetValue(key, out source))
                throw new InvalidDataException($"{configPath}: no chat template named '{key}' (it has {string.Join(", ", templates.Keys)}).");
        }
        else if (name is not null)
            throw new InvalidDataException($"{directory}: no chat template named '{name}'.");
        if (source is null) return null;
        try
        {
            return ChatTemplate.Parse(source, tokens);
        }
        catch (ChatTemplateException e)
        {
            throw new ChatTemplateException($"{(File.Exists(jinjaPath) && name is null ? jinjaPath : configPath)}: {e.Message}", e);
        }
    }

    private static void ReadConfig(string path, Dictionary<string, string> tokens, Dictionary<string, string> templates)
    {
        using (var doc = JsonFile.Parse(path))
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: the document must be a JSON object.");
            foreach (var tokenName in TokenNames)
                if (root.TryGetProperty(tokenName, out var value) && TokenContent(value) is { } content) tokens[tokenName] = content;
            if (!root.TryGetProperty("chat_template", out var template)) return;
            switch (template.ValueKind)
            {
                case JsonValueKind.String: templates["default"] = template.GetString()!; break;
                case JsonValueKind.Array:
                    foreach (var entry in template.EnumerateArray())
                    {
                        if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("name", out var n) || !entry.TryGetProperty("template", out var t)
                            || n.ValueKind != JsonValueKind.String || t.ValueKind != JsonValueKind.String)
                            throw new InvalidDataException($"{path}: each entry of the chat_template list needs string \"name\" and \"template\".");
                        templates[n.GetString()!] = t.GetString()!;
                    }
                    break;
                case JsonValueKind.Null: break;
                default: throw new InvalidDataException($"{path}: chat_template must be a string or a list of {{\"name\", \"template\"}}.");
            }
        }
    }

    private static string? TokenContent(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Object when value.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };
}
