using System.Text.Json;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Models.Tests.ChatTemplates;

/// <summary>The template folders and goldens written by tests/fixtures/make_chat_templates.py.</summary>
internal static class ChatTemplateFixtures
{
    /// <summary>The clock make_chat_templates.py pins strftime_now to.</summary>
    public static readonly DateTime PinnedNow = new(2026, 3, 7, 14, 5, 9);

    public static string Root
    {
        get
        {
            string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "chat_templates");
            return Directory.Exists(path) ? path
                : throw new DirectoryNotFoundException($"Fixture {path} is missing; regenerate it with tests/fixtures/make_chat_templates.py.");
        }
    }

    public static string Folder(string name)
    {
        string path = Path.Combine(Root, name);
        return Directory.Exists(path) ? path : throw new DirectoryNotFoundException($"Fixture {path} is missing.");
    }

    public static ChatTemplate Load(string name) =>
        ChatTemplate.FromDirectory(Folder(name)) ?? throw new InvalidDataException($"{name}: the fixture has no chat template.");

    private static readonly Lazy<JsonDocument> Spec = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "conversations.json"))));

    private static readonly Lazy<JsonDocument> Golden = new(() => JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "expected.json"))));

    public static JsonElement Conversation(string name) => Spec.Value.RootElement.GetProperty("conversations").GetProperty(name);

    public static IReadOnlyList<JsonElement> Cases => Golden.Value.RootElement.EnumerateArray().ToList();

    /// <summary>The options a golden case was rendered with.</summary>
    public static ChatTemplateOptions Options(JsonElement c)
    {
        var variables = new Dictionary<string, object?>();
        if (c.TryGetProperty("variables", out var v))
            foreach (var p in v.EnumerateObject()) variables[p.Name] = p.Value.Clone();
        return new ChatTemplateOptions
        {
            AddGenerationPrompt = c.GetProperty("add_generation_prompt").GetBoolean(),
            Tools = c.TryGetProperty("tools", out var t) ? Conversation(t.GetString()!) : null,
            Variables = variables,
            Clock = () => PinnedNow,
        };
    }

    public static string CaseName(JsonElement c) =>
        $"{c.GetProperty("template").GetString()}/{c.GetProperty("conversation").GetString()}" +
        (c.TryGetProperty("tools", out _) ? "+tools" : "") +
        (c.TryGetProperty("variables", out var v) ? "+" + v.GetRawText() : "") +
        (c.GetProperty("add_generation_prompt").GetBoolean() ? "+gen" : "");
}
