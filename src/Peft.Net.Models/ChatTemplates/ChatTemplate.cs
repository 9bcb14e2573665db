using System.Text.Json;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>
/// A Hugging Face chat template (Jinja source from <c>tokenizer_config.json</c> or <c>chat_template.jinja</c>),
/// rendered exactly as transformers' <c>apply_chat_template(..., tokenize=False)</c> does: jinja2 with
/// <c>trim_blocks</c> and <c>lstrip_blocks</c>, the variables <c>messages</c>, <c>tools</c>, <c>documents</c>,
/// <c>add_generation_prompt</c>, the special tokens and extra keyword variables, and the globals
/// <c>raise_exception</c>, <c>strftime_now</c>, <c>namespace</c> and <c>range</c>. The interpreter covers the Jinja
/// subset real templates use; anything else fails with a <see cref="ChatTemplateException"/> that names the construct.
/// </summary>
/// <example>
/// <code>
/// var template = ChatTemplate.FromDirectory("models/Qwen2.5-0.5B-Instruct")!;
/// string prompt = template.Render([ChatMessage.User("Hi")], new ChatTemplateOptions { AddGenerationPrompt = true });
/// </code>
/// </example>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Stmt> _body;

    private ChatTemplate(string source, IReadOnlyList<Stmt> body, IReadOnlyDictionary<string, string> specialTokens)
    {
        Source = source;
        _body = body;
        SpecialTokens = specialTokens;
    }

    /// <summary>The Jinja source.</summary>
    public string Source { get; }

    /// <summary>The special tokens the template sees (<c>bos_token</c>, <c>eos_token</c>, …: only those that are set).</summary>
    public IReadOnlyDictionary<string, string> SpecialTokens { get; }

    /// <summary>Whether the template marks assistant output with <c>{% generation %}</c> (transformers' assistant masks).</summary>
    public bool HasGenerationBlocks => System.Text.RegularExpressions.Regex.IsMatch(Source, @"\{%-?\s*generation\s*-?%\}");

    /// <summary>Parses a template.</summary>
    /// <param name="source">The Jinja source.</param>
    /// <param name="specialTokens">Variables such as <c>bos_token</c> and <c>eos_token</c> (the tokenizer's special_tokens_map).</param>
    /// <returns>The template.</returns>
    /// <exception cref="ChatTemplateException">The source is not valid Jinja or uses a tag this renderer does not implement.</exception>
    public static ChatTemplate Parse(string source, IReadOnlyDictionary<string, string>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ChatTemplate(source, TemplateParser.Parse(source), specialTokens ?? new Dictionary<string, string>());
    }

    /// <summary>
    /// The model folder's default chat template with its special tokens: <c>chat_template.jinja</c> when present, else
    /// the <c>chat_template</c> field of <c>tokenizer_config.json</c> (a string, or the entry named "default" of a list);
    /// null when the folder has none.
    /// </summary>
    /// <param name="directory">The model folder.</param>
    /// <param name="name">A named template ("tool_use", …) instead of the default one.</param>
    /// <returns>The template, or null.</returns>
    /// <exception cref="InvalidDataException">A file is not valid JSON, or <paramref name="name"/> is not among the templates.</exception>
    /// <exception cref="ChatTemplateException">The template does not parse (the message names the file).</exception>
    public static ChatTemplate? FromDirectory(string directory, string? name = null) => ChatTemplateFiles.Load(directory, name);

    /// <summary>Renders simple role/content messages.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">Generation prompt, tools, extra variables.</param>
    /// <returns>The prompt text, exactly as transformers renders it.</returns>
    /// <exception cref="ChatTemplateException">The template failed (raise_exception, undefined value, unsupported construct).</exception>
    public string Render(IEnumerable<ChatMessage> messages, ChatTemplateOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = messages.Select(m =>
        {
            var d = new OrderedDictionary<string, object?>(StringComparer.Ordinal) { ["role"] = m.Role, ["content"] = m.Content };
            return (object?)d;
        }).ToList();
        return RenderValues(list, options).Text;
    }

    /// <summary>Renders messages given as a JSON array of message objects (with any fields: tool_calls, content blocks, …).</summary>
    /// <param name="messages">A JSON array.</param>
    /// <param name="options">Generation prompt, tools, extra variables.</param>
    /// <returns>The prompt text.</returns>
    /// <exception cref="ArgumentException"><paramref name="messages"/> is not an array.</exception>
    /// <exception cref="ChatTemplateException">The template failed.</exception>
    public string Render(JsonElement messages, ChatTemplateOptions? options = null) => RenderJson(messages, options).Text;

    internal ChatRendering RenderJson(JsonElement messages, ChatTemplateOptions? options)
    {
        if (messages.ValueKind != JsonValueKind.Array)
            throw new ArgumentException($"messages must be a JSON array, not {messages.ValueKind}.", nameof(messages));
        return RenderValues((List<object?>)TemplateValues.FromJson(messages)!, options);
    }

    internal ChatRendering RenderValues(List<object?> messages, ChatTemplateOptions? options)
    {
        options ??= new ChatTemplateOptions();
        var root = TemplateGlobals.Create(options.Clock ?? (() => DateTime.Now));
        foreach (var (key, value) in SpecialTokens) root.Set(key, value);
        root.Set("messages", messages);
        root.Set("tools", options.Tools is { } tools ? TemplateValues.FromJson(tools) : null);
        root.Set("documents", options.Documents is { } docs ? TemplateValues.FromJson(docs) : null);
        root.Set("add_generation_prompt", options.AddGenerationPrompt);
        if (options.Variables is not null)
            foreach (var (key, value) in options.Variables) root.Set(key, TemplateValues.FromClr(value));
        var evaluator = new TemplateEvaluator(new TemplateScope(root));
        string text = evaluator.Render(_body);
        return new ChatRendering(text, evaluator.GenerationSpans);
    }
}

/// <summary>A rendering and the UTF-16 spans of its <c>{% generation %}</c> blocks.</summary>
internal sealed record ChatRendering(string Text, IReadOnlyList<(int Start, int End)> GenerationSpans);
