using System.Text.Json;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// Where the assistant turns are in a rendered conversation (UTF-16 spans of the text), for assistant-only loss.
/// </summary>
/// <remarks>
/// A template with <c>{% generation %}</c> blocks gives its spans directly (transformers' assistant masks). For any
/// other template each assistant turn i is found by rendering: it starts where <c>messages[:i]</c> rendered with the
/// generation prompt ends, when that is a prefix of the full rendering (else where its content first appears after
/// the previous turn), and it ends after its content plus as much of the turn's closing text (the text that follows
/// the content when <c>messages[:i+1]</c> is rendered: end-of-turn token, newline, …) as the full rendering repeats
/// there. Role headers stay outside; the end-of-turn token is inside. Templates that rewrite history (Qwen3 drops
/// earlier reasoning) are handled by searching the content after its last <c>&lt;/think&gt;</c>.
/// </remarks>
internal static class AssistantSpans
{
    public static (string Text, List<(int Start, int End)> Spans) Find(ChatTemplate template, JsonElement messages, ChatTemplateOptions? options = null)
    {
        var values = (List<object?>)TemplateValues.FromJson(messages)!;
        var full = template.RenderValues(values, With(options, false));
        if (template.HasGenerationBlocks) return (full.Text, full.GenerationSpans.Where(s => s.End > s.Start).ToList());
        string text = full.Text;
        var spans = new List<(int, int)>();
        int previousEnd = 0;
        string trailer = AlwaysAppended(template, values, options);
        for (int i = 0; i < values.Count; i++)
        {
            if (Role(values[i]) != "assistant") continue;
            string prompt = template.RenderValues(values.Take(i).ToList(), With(options, true)).Text;
            string upTo = template.RenderValues(values.Take(i + 1).ToList(), With(options, false)).Text;
            var span = Locate(text, prompt, upTo, trailer, values[i], AfterPrevious(text, values, i, previousEnd))
                ?? throw new InvalidDataException(
                    $"assistant message {i} cannot be located in the rendered conversation (its content does not appear as written); " +
                    "use a chat template with {% generation %} blocks, or train on all tokens");
            spans.Add(span);
            previousEnd = span.End;
        }
        return (text, spans);
    }

    private static (int Start, int End)? Locate(string full, string prompt, string upTo, string trailer, object? message, int previousEnd)
    {
        bool promptIsPrefix = prompt.Length >= previousEnd && full.StartsWith(prompt, StringComparison.Ordinal);
        if (promptIsPrefix && upTo.Length > prompt.Length && full.StartsWith(upTo, StringComparison.Ordinal) && upTo.StartsWith(prompt, StringComparison.Ordinal))
        {
            int end = trailer.Length > 0 && upTo.EndsWith(trailer, StringComparison.Ordinal) && upTo.Length - trailer.Length > prompt.Length
                ? upTo.Length - trailer.Length : upTo.Length;
            return (prompt.Length, end);
        }
        int searchFrom = promptIsPrefix ? prompt.Length : previousEnd;
        foreach (string content in Candidates(message))
        {
            int at = full.IndexOf(content, searchFrom, StringComparison.Ordinal);
            int inUpTo = upTo.LastIndexOf(content, StringComparison.Ordinal);
            if (at < 0 || inUpTo < 0) continue;
            string closing = upTo[(inUpTo + content.Length)..];
            int after = at + content.Length;
            int common = 0;
            while (common < closing.Length && after + common < full.Length && full[after + common] == closing[common]) common++;
            return (promptIsPrefix ? prompt.Length : at, after + EndOfTurnLength(closing, common));
        }
        return null;
    }

    /// <summary>
    /// The text a template appends after the messages whatever add_generation_prompt says (Llama 3 base prints the
    /// assistant header unconditionally): the rendering of no messages, when the flag changes nothing. It is a prompt
    /// cue, so it never belongs to the last assistant turn. Empty for templates that honour the flag.
    /// </summary>
    private static string AlwaysAppended(ChatTemplate template, List<object?> values, ChatTemplateOptions? options)
    {
        var first = values.Take(1).ToList();
        if (template.RenderValues(first, With(options, true)).Text != template.RenderValues(first, With(options, false)).Text) return "";
        try
        {
            return template.RenderValues([], With(options, false)).Text;
        }
        catch (ChatTemplateException)
        {
            return "";
        }
    }

    /// <summary>Where the message before turn <paramref name="i"/> ends in the text (its content first found after the previous span), so a
    /// search for the assistant's content cannot land in the user's question.</summary>
    private static int AfterPrevious(string text, List<object?> values, int i, int previousEnd)
    {
        if (i == 0) return previousEnd;
        foreach (string content in Candidates(values[i - 1]))
        {
            int at = text.IndexOf(content, previousEnd, StringComparison.Ordinal);
            if (at >= 0) return at + content.Length;
        }
        return previousEnd;
    }

    /// <summary>
    /// How much of the closing text belongs to the turn when the full rendering repeats only part of it (the closing of
    /// the last message can carry more: Phi-3's final EOS, Llama 3's unconditional assistant header): the first
    /// special-token-like unit (up to its '&gt;') and the whitespace after it, never a half-matched tag.
    /// </summary>
    private static int EndOfTurnLength(string closing, int common)
    {
        if (common >= closing.Length) return common;
        int gt = closing.IndexOf('>', 0, common);
        if (gt < 0)
        {
            int newline = closing.LastIndexOf('\n', Math.Max(common - 1, 0));
            return common == 0 ? 0 : newline >= 0 ? newline + 1 : common;
        }
        int cut = gt + 1;
        while (cut < common && CodePoints.IsSpace(closing[cut])) cut++;
        return cut;
    }

    /// <summary>The content as written, trimmed, and the part after the last &lt;/think&gt; (templates that drop reasoning).</summary>
    private static IEnumerable<string> Candidates(object? message)
    {
        if (message is not OrderedDictionary<string, object?> m || !m.TryGetValue("content", out var c) || c is not string content) yield break;
        string trimmed = CodePoints.Strip(content, null, true, true);
        if (trimmed.Length > 0) yield return trimmed;
        int think = content.LastIndexOf("</think>", StringComparison.Ordinal);
        if (think >= 0)
        {
            string answer = CodePoints.Strip(content[(think + "</think>".Length)..], null, true, true);
            if (answer.Length > 0) yield return answer;
        }
    }

    private static string? Role(object? message) =>
        message is OrderedDictionary<string, object?> m && m.TryGetValue("role", out var r) ? r as string : null;

    private static ChatTemplateOptions With(ChatTemplateOptions? options, bool addGenerationPrompt) => new()
    {
        AddGenerationPrompt = addGenerationPrompt,
        Tools = options?.Tools,
        Documents = options?.Documents,
        Variables = options?.Variables,
        Clock = options?.Clock,
    };
}
