using System.Text.Json;
using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Training;

/// <summary>
/// Conversations (<c>{"messages": […]}</c> rows) as training examples: rendered with the model's chat template,
/// tokenized without added special tokens (the template writes BOS/EOS itself, as transformers tokenizes templated
/// text), and by default with loss only on the assistant turns (TRL's <c>assistant_only_loss</c>): labels of system,
/// user and tool tokens and of role headers are −100; assistant content and its end-of-turn token are kept.
/// </summary>
public static class ChatExamples
{
    /// <summary>Builds one example per conversation.</summary>
    /// <param name="conversations">JSON arrays of message objects.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The model's chat template.</param>
    /// <param name="maxLength">Longer examples are truncated to this many tokens.</param>
    /// <param name="assistantOnly">Loss only on assistant tokens (default); false trains on every token.</param>
    /// <param name="options">Extra template variables (tools, enable_thinking, …); the generation prompt is never added.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="InvalidDataException">A conversation has no assistant token (after truncation), or its assistant turns cannot be located.</exception>
    /// <exception cref="ChatTemplateException">The template refused a conversation (e.g. roles that do not alternate).</exception>
    public static IReadOnlyList<TokenizedExample> FromConversations(IEnumerable<JsonElement> conversations, ITokenizer tokenizer,
        ChatTemplate template, int maxLength, bool assistantOnly = true, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(conversations);
        var examples = new List<TokenizedExample>();
        int index = 0;
        foreach (var conversation in conversations)
        {
            try
            {
                examples.Add(FromConversation(conversation, tokenizer, template, maxLength, assistantOnly, options));
            }
            catch (Exception e) when (e is InvalidDataException or ChatTemplateException)
            {
                throw new InvalidDataException($"conversation {index + 1}: {e.Message}", e);
            }
            index++;
        }
        return examples;
    }

    /// <summary>Builds the example of one conversation.</summary>
    /// <param name="messages">A JSON array of message objects.</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="template">The model's chat template.</param>
    /// <param name="maxLength">The longest sequence kept (≥ 2).</param>
    /// <param name="assistantOnly">Loss only on assistant tokens (default).</param>
    /// <param name="options">Extra template variables; the generation prompt is never added.</param>
    /// <returns>The example.</returns>
    /// <exception cref="InvalidDataException">No assistant token survives, or an assistant turn cannot be located.</exception>
    /// <exception cref="ChatTemplateException">The template refused the conversation.</exception>
    public static TokenizedExample FromConversation(JsonElement messages, ITokenizer tokenizer, ChatTemplate template, int maxLength,
        bool assistantOnly = true, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 2);
        var (text, spans) = assistantOnly ? AssistantSpans.Find(template, messages, options) : (template.RenderJson(messages, options).Text, []);
        int[] ids = tokenizer.Encode(text);
        if (ids.Length == 0) throw new InvalidDataException("the rendered conversation encodes to no tokens");
        int length = Math.Min(ids.Length, maxLength);
        var inputIds = ids[..length];
        var labels = new int[length];
        if (!assistantOnly)
        {
            Array.Copy(inputIds, labels, length);
            return new TokenizedExample(inputIds, labels);
        }
        Array.Fill(labels, ExampleBuilder.IgnoreIndex);
        bool any = false;
        foreach (var (start, end) in spans)
        {
            int first = TokenBoundary(tokenizer, text, ids, start, isEnd: false);
            int last = TokenBoundary(tokenizer, text, ids, end, isEnd: true);
            for (int t = first; t < Math.Min(last, length); t++)
            {
                labels[t] = inputIds[t];
                any = true;
            }
        }
        if (!any)
            throw new InvalidDataException(spans.Count == 0
                ? "the conversation has no assistant message to train on"
                : $"no assistant token within the first {maxLength} tokens (raise the sequence length)");
        return new TokenizedExample(inputIds, labels);
    }

    /// <summary>
    /// The token index of a character boundary: the number of tokens of the full encoding that the encoding of
    /// <c>text[..offset]</c> shares. A token that straddles the boundary counts as inside the span (transformers'
    /// char_to_token rule): a span start moves back to it, a span end moves past it.
    /// </summary>
    private static int TokenBoundary(ITokenizer tokenizer, string text, int[] ids, int offset, bool isEnd)
    {
        if (offset <= 0) return 0;
        if (offset >= text.Length) return ids.Length;
        int[] prefix = tokenizer.Encode(text[..offset]);
        int common = 0;
        while (common < prefix.Length && common < ids.Length && prefix[common] == ids[common]) common++;
        bool exact = common == prefix.Length;
        return exact || !isEnd ? common : Math.Min(common + 1, ids.Length);
    }
}
