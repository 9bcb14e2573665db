using System.Text.Json;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Models.Data;

/// <summary>
/// One row of a JSONL dataset: a prompt/completion pair (<c>{"prompt": …, "completion": …}</c>), plain text
/// (<c>{"text": …}</c>) or a conversation (<c>{"messages": [{"role": …, "content": …}, …]}</c>).
/// </summary>
public sealed record DatasetRecord
{
    private DatasetRecord(string? prompt, string? completion, string? text, JsonElement? messages = null)
    {
        Prompt = prompt;
        Completion = completion;
        Text = text;
        Messages = messages;
    }

    /// <summary>The messages of a conversation row (a JSON array of message objects, kept as written: tool calls,
    /// content blocks and other fields included); null for other rows.</summary>
    public JsonElement? Messages { get; }

    /// <summary>True for a conversation (<c>messages</c>) row.</summary>
    public bool IsChat => Messages is not null;

    /// <summary>A conversation row.</summary>
    /// <param name="messages">A JSON array of message objects, each with a string "role".</param>
    /// <returns>The row.</returns>
    /// <exception cref="ArgumentException">The value is not such an array.</exception>
    public static DatasetRecord FromMessages(JsonElement messages)
    {
        if (ValidateMessages(messages) is { } problem) throw new ArgumentException(problem, nameof(messages));
        return new DatasetRecord(null, null, null, messages.Clone());
    }

    /// <summary>A conversation row of role/content messages.</summary>
    /// <param name="messages">The turns.</param>
    /// <returns>The row.</returns>
    public static DatasetRecord FromMessages(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var array = messages.Select(m => new Dictionary<string, string> { ["role"] = m.Role, ["content"] = m.Content }).ToArray();
        return FromMessages(JsonSerializer.SerializeToElement(array));
    }

    /// <summary>Why <paramref name="messages"/> is not a valid "messages" value, or null when it is.</summary>
    internal static string? ValidateMessages(JsonElement messages)
    {
        if (messages.ValueKind != JsonValueKind.Array) return $"\"messages\" must be an array but is {messages.ValueKind}";
        if (messages.GetArrayLength() == 0) return "\"messages\" is empty";
        int i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object) return $"messages[{i}] must be an object but is {message.ValueKind}";
            if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                return $"messages[{i}] needs a string \"role\"";
            i++;
        }
        return null;
    }

    /// <summary>The prompt of a prompt/completion row; null for a text row.</summary>
    public string? Prompt { get; }

    /// <summary>The completion of a prompt/completion row; null for a text row.</summary>
    public string? Completion { get; }

    /// <summary>The text of a text row; null for a prompt/completion row.</summary>
    public string? Text { get; }

    /// <summary>True for a prompt/completion row, false for a text or conversation row.</summary>
    public bool IsPromptCompletion => Prompt is not null;

    /// <summary>A prompt/completion row.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="completion">The completion.</param>
    /// <returns>The row.</returns>
    public static DatasetRecord FromPromptCompletion(string prompt, string completion)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(completion);
        return new DatasetRecord(prompt, completion, null);
    }

    /// <summary>A plain-text row.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The row.</returns>
    public static DatasetRecord FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new DatasetRecord(null, null, text);
    }

    /// <summary>The row as a <see cref="PromptCompletion"/>.</summary>
    /// <returns>The pair.</returns>
    /// <exception cref="InvalidOperationException">This is a text row.</exception>
    public PromptCompletion ToPromptCompletion() => IsPromptCompletion
        ? new PromptCompletion(Prompt!, Completion!)
        : throw new InvalidOperationException("This dataset row is not a {\"prompt\", \"completion\"} row.");
}
