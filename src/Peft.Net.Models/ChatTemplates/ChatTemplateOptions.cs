using System.Text.Json;

namespace Peft.Net.Models.ChatTemplates;

/// <summary>The inputs of <c>apply_chat_template</c> besides the messages.</summary>
public sealed class ChatTemplateOptions
{
    /// <summary>Append the opening of an assistant turn (<c>add_generation_prompt</c>).</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>Tool schemas (a JSON array), passed as <c>tools</c>; null passes None, as transformers does.</summary>
    public JsonElement? Tools { get; init; }

    /// <summary>Documents for retrieval templates (a JSON array), passed as <c>documents</c>; null passes None.</summary>
    public JsonElement? Documents { get; init; }

    /// <summary>
    /// Extra template variables (transformers' <c>**kwargs</c>, e.g. <c>enable_thinking</c>, <c>date_string</c>);
    /// values are strings, bools, numbers, <see cref="JsonElement"/>s, lists or string-keyed dictionaries. They override
    /// the special tokens of the same name.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? Variables { get; init; }

    /// <summary>The clock <c>strftime_now</c> reads (naive local time by default, as Python's datetime.now()).</summary>
    public Func<DateTime>? Clock { get; init; }
}
