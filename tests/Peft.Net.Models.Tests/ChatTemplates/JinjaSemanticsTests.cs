using System.Text.Json;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Models.Tests.ChatTemplates;

/// <summary>
/// One rule per snippet (whitespace control, Python printing, undefined, slicing, filters, tests, loop scoping, macros,
/// the sandbox's errors), each compared with python3-jinja2's output (snippets.json from make_chat_templates.py).
/// </summary>
public sealed class JinjaSemanticsTests
{
    private static readonly Lazy<JsonDocument> Snippets = new(() =>
        JsonDocument.Parse(File.ReadAllBytes(Path.Combine(ChatTemplateFixtures.Root, "snippets.json"))));

    public static TheoryData<int> Indexes()
    {
        var data = new TheoryData<int>();
        int n = Snippets.Value.RootElement.GetProperty("snippets").GetArrayLength();
        for (int i = 0; i < n; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Indexes))]
    public void SnippetMatchesJinja2(int index)
    {
        var root = Snippets.Value.RootElement;
        var snippet = root.GetProperty("snippets")[index];
        string source = snippet.GetProperty("template").GetString()!;
        var variables = root.GetProperty("variables").EnumerateObject()
            .Where(p => p.Name != "messages")
            .ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        var template = ChatTemplate.Parse(source);
        var messages = root.GetProperty("variables").GetProperty("messages");
        var options = new ChatTemplateOptions { Variables = variables };
        if (snippet.TryGetProperty("error", out var error))
        {
            var e = Assert.Throws<ChatTemplateException>(() => template.Render(messages, options));
            Assert.Contains(error.GetString()!, e.Message, StringComparison.Ordinal);
            return;
        }
        Assert.Equal(snippet.GetProperty("expected").GetString(), template.Render(messages, options));
    }

    [Theory]
    [InlineData("{% call foo() %}x{% endcall %}", "'{% call %}' tag is not supported")]
    [InlineData("{% include 'x.jinja' %}", "'{% include %}' tag is not supported")]
    [InlineData("{% filter upper %}x{% endfilter %}", "'{% filter %}' tag is not supported")]
    [InlineData("{{ 'x'|wordwrap(3) }}", "the filter 'wordwrap' is not supported")]
    [InlineData("{{ 1 is sameas 1 }}", "the test 'sameas' is not supported")]
    [InlineData("{% for x in y recursive %}{% endfor %}", "recursive for loops are not supported")]
    [InlineData("{{ '%s' % 1 }}", "printf-style string formatting")]
    [InlineData("{% if x %}unclosed", "missing {% elif or else or endif %}")]
    public void UnsupportedConstructsFailNamingThem(string source, string expected)
    {
        var e = Assert.Throws<ChatTemplateException>(() => ChatTemplate.Parse(source).Render(Array.Empty<ChatMessage>()));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(e.RaisedByTemplate);
    }

    [Fact]
    public void RaiseExceptionIsMarkedAsTheTemplates()
    {
        var e = Assert.Throws<ChatTemplateException>(() =>
            ChatTemplate.Parse("{{ raise_exception('roles must alternate') }}").Render([ChatMessage.User("a")]));
        Assert.True(e.RaisedByTemplate);
        Assert.EndsWith("roles must alternate", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GenerationBlocksRecordAssistantSpans()
    {
        var template = ChatTemplateFixtures.Load("gemma_training");
        Assert.True(template.HasGenerationBlocks);
        var rendering = template.RenderValues(
            [Message("user", "Hi"), Message("assistant", " Hello! "), Message("user", "Bye"), Message("assistant", "Ciao")],
            new ChatTemplateOptions());
        var spans = rendering.GenerationSpans.Select(s => rendering.Text[s.Start..s.End]).ToArray();
        Assert.Equal(["Hello!<end_of_turn>\n", "Ciao<end_of_turn>\n"], spans);
    }

    private static object? Message(string role, string content) =>
        new OrderedDictionary<string, object?>(StringComparer.Ordinal) { ["role"] = role, ["content"] = content };
}
