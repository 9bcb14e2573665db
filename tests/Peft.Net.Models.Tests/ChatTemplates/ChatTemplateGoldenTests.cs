using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Models.Tests.ChatTemplates;

/// <summary>
/// Real chat templates (Llama 3, Llama 3.2, Qwen2.5, Qwen3, Mistral, Mistral Small 3.1, Gemma, Phi-3, SmolLM2, TRL's
/// Gemma training template) rendered over multi-turn conversations, with and without add_generation_prompt, tools and
/// thinking, must equal byte for byte what python3-jinja2 renders with transformers' settings (make_chat_templates.py).
/// </summary>
public sealed class ChatTemplateGoldenTests
{
    public static TheoryData<int, string> CaseIndexes()
    {
        var data = new TheoryData<int, string>();
        var cases = ChatTemplateFixtures.Cases;
        for (int i = 0; i < cases.Count; i++) data.Add(i, ChatTemplateFixtures.CaseName(cases[i]));
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIndexes))]
    public void RendersLikeJinja2(int index, string name)
    {
        var c = ChatTemplateFixtures.Cases[index];
        var template = ChatTemplateFixtures.Load(c.GetProperty("template").GetString()!);
        var messages = ChatTemplateFixtures.Conversation(c.GetProperty("conversation").GetString()!);
        var options = ChatTemplateFixtures.Options(c);
        if (c.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<ChatTemplateException>(() => template.Render(messages, options));
            Assert.True(e.RaisedByTemplate, name);
            Assert.EndsWith(error.GetString()!, e.Message, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(c.GetProperty("expected").GetString(), template.Render(messages, options));
    }

    [Fact]
    public void EveryTemplateFamilyIsCovered()
    {
        var templates = ChatTemplateFixtures.Cases.Select(c => c.GetProperty("template").GetString()).ToHashSet();
        foreach (var family in new[] { "llama3", "llama3_2", "qwen2_5", "qwen3", "mistral", "mistral_small_3_1", "gemma", "phi3", "smollm2" })
            Assert.Contains(family, templates);
        Assert.True(ChatTemplateFixtures.Cases.Count >= 100, $"only {ChatTemplateFixtures.Cases.Count} golden renderings");
    }
}
