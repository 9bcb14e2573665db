using System.Text.Json;
using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Tests.Tokenization;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.ChatTemplates;

/// <summary>
/// Assistant-only loss for every template: the spans found in the rendering are exactly the assistant content plus
/// its end-of-turn text (headers and other roles outside), and the labels of the tokenized example are −100
/// everywhere else, with real tokenizers (Llama 3, Qwen) where the npm packages have them and bytes otherwise.
/// </summary>
public sealed class AssistantMaskTests
{
    public static TheoryData<string, string, string[]> Spans() => new()
    {
        { "llama3", "system", ["4<|eot_id|>", "6<|eot_id|>"] },
        { "llama3_2", "system", ["4<|eot_id|>", "6<|eot_id|>"] },
        { "qwen2_5", "system", ["4<|im_end|>\n", "6<|im_end|>\n"] },
        { "qwen3", "system", ["4<|im_end|>\n", "<think>\n\n</think>\n\n6<|im_end|>\n"] },
        { "qwen3", "thinking", ["Yes, 7 is prime.<|im_end|>\n", "<think>\n9 = 3 * 3.\n</think>\n\nNo, 9 = 3 × 3.<|im_end|>\n"] },
        { "qwen2_5", "tool_use", ["<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"celsius\"}}\n</tool_call><|im_end|>\n", "It is 21.5 °C and clear in Paris.<|im_end|>\n"] },
        { "mistral", "system", ["4</s>", "6</s>"] },
        { "mistral_small_3_1", "system", ["4</s>", "6</s>"] },
        { "gemma", "basic", ["LoRA adds a low-rank update BA to a frozen weight.<end_of_turn>\n", "QLoRA keeps the base in 4-bit NF4 and trains LoRA on top.<end_of_turn>\n"] },
        { "gemma_training", "basic", ["LoRA adds a low-rank update BA to a frozen weight.<end_of_turn>\n", "QLoRA keeps the base in 4-bit NF4 and trains LoRA on top.<end_of_turn>\n"] },
        { "phi3", "system", ["4<|end|>\n", "6<|end|>\n<|endoftext|>"] },
        { "smollm2", "system", ["4<|im_end|>\n", "6<|im_end|>\n"] },
        { "smollm2", "whitespace", ["\n Answer: naïve café, 'quoted' and \"double\"\n\n  <|im_end|>\n", "ok<|im_end|>\n"] },
    };

    [Theory]
    [MemberData(nameof(Spans))]
    public void AssistantSpansAreContentPlusEndOfTurn(string templateName, string conversation, string[] expected)
    {
        var template = ChatTemplateFixtures.Load(templateName);
        var messages = ChatTemplateFixtures.Conversation(conversation);
        var options = new ChatTemplateOptions { Clock = () => ChatTemplateFixtures.PinnedNow };
        var (text, spans) = AssistantSpans.Find(template, messages, options);
        Assert.Equal(template.Render(messages, options), text);
        Assert.Equal(expected, spans.Select(s => text[s.Start..s.End]).ToArray());
    }

    [Theory]
    [InlineData("gemma")]
    [InlineData("phi3")]
    [InlineData("mistral")]
    [InlineData("mistral_small_3_1")]
    [InlineData("smollm2")]
    public void ByteLevelLabelsCoverExactlyTheSpans(string templateName)
    {
        var template = ChatTemplateFixtures.Load(templateName);
        var messages = ChatTemplateFixtures.Conversation(templateName == "gemma" ? "basic" : "system");
        var tokenizer = new ByteTokenizer();
        var example = ChatExamples.FromConversation(messages, tokenizer, template, 4096);
        var (text, spans) = AssistantSpans.Find(template, messages);
        AssertLabelsMatchSpans(tokenizer, example, text, spans);
    }

    [Theory]
    [InlineData("qwen2_5", "qwen2_5", "system")]
    [InlineData("qwen3", "qwen3", "system")]
    [InlineData("qwen3", "qwen3", "thinking")]
    [InlineData("qwen2_5", "smollm2", "whitespace")]
    [InlineData("llama3", "llama3", "system")]
    [InlineData("llama3_2", "llama3_2", "basic")]
    public void RealTokenizerLabelsCoverExactlyTheSpans(string tokenizerName, string templateName, string conversation)
    {
        var tokenizer = BpeTokenizer.FromDirectory(NpmTokenizers.Folder(tokenizerName));
        var template = ChatTemplateFixtures.Load(templateName);
        var messages = ChatTemplateFixtures.Conversation(conversation);
        var options = new ChatTemplateOptions { Clock = () => ChatTemplateFixtures.PinnedNow };
        var example = ChatExamples.FromConversation(messages, tokenizer, template, 4096, options: options);
        var (text, spans) = AssistantSpans.Find(template, messages, options);
        Assert.Equal(tokenizer.Encode(text), example.InputIds);
        AssertLabelsMatchSpans(tokenizer, example, text, spans);
        // The end-of-turn token itself is trained; role headers are not.
        string endOfTurn = templateName.StartsWith("llama", StringComparison.Ordinal) ? "<|eot_id|>" : "<|im_end|>";
        int eot = tokenizer.Encode(endOfTurn).Single();
        Assert.Contains(eot, example.Labels);
        int header = tokenizer.Encode(templateName.StartsWith("llama", StringComparison.Ordinal) ? "<|start_header_id|>" : "<|im_start|>").Single();
        Assert.Contains(header, example.InputIds);
        Assert.DoesNotContain(header, example.Labels);
    }

    [Fact]
    public void TrainOnAllKeepsEveryToken()
    {
        var template = ChatTemplateFixtures.Load("qwen2_5");
        var messages = ChatTemplateFixtures.Conversation("system");
        var example = ChatExamples.FromConversation(messages, new ByteTokenizer(), template, 4096, assistantOnly: false);
        Assert.Equal(example.InputIds, example.Labels);
    }

    [Fact]
    public void TruncationThatCutsAllAssistantTokensIsAnError()
    {
        var template = ChatTemplateFixtures.Load("qwen2_5");
        var messages = ChatTemplateFixtures.Conversation("system");
        var e = Assert.Throws<InvalidDataException>(() => ChatExamples.FromConversation(messages, new ByteTokenizer(), template, 20));
        Assert.Contains("no assistant token within the first 20 tokens", e.Message);
    }

    [Fact]
    public void ConversationWithoutAssistantIsAnError()
    {
        var template = ChatTemplateFixtures.Load("qwen2_5");
        var messages = JsonSerializer.SerializeToElement(new[] { new { role = "user", content = "hi" } });
        var e = Assert.Throws<InvalidDataException>(() => ChatExamples.FromConversations([messages], new ByteTokenizer(), template, 100));
        Assert.Contains("conversation 1: the conversation has no assistant message", e.Message);
    }

    /// <summary>
    /// Labelled tokens, run by run, decode to the span texts, or to a little more where a token straddles a span edge
    /// (transformers counts such a token inside); every label is its input id.
    /// </summary>
    private static void AssertLabelsMatchSpans(ITokenizer tokenizer, TokenizedExample example, string text, List<(int Start, int End)> spans)
    {
        var runs = new List<string>();
        var outside = new List<int>();
        var current = new List<int>();
        for (int i = 0; i < example.Length; i++)
        {
            if (example.Labels[i] == ExampleBuilder.IgnoreIndex)
            {
                if (current.Count > 0) { runs.Add(tokenizer.Decode(current.ToArray())); current.Clear(); }
                outside.Add(example.InputIds[i]);
            }
            else
            {
                Assert.Equal(example.InputIds[i], example.Labels[i]);
                current.Add(example.InputIds[i]);
            }
        }
        if (current.Count > 0) runs.Add(tokenizer.Decode(current.ToArray()));
        var expected = spans.Select(s => text[s.Start..s.End]).ToArray();
        Assert.Equal(expected.Length, runs.Count);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Contains(expected[i], runs[i], StringComparison.Ordinal);
            Assert.True(runs[i].Length - expected[i].Length <= 2, $"run {i} '{runs[i]}' is much longer than its span '{expected[i]}'");
        }
        Assert.Equal(tokenizer.Decode(example.InputIds), text);
    }
}
