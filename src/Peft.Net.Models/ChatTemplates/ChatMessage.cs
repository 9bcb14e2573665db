namespace Peft.Net.Models.ChatTemplates;

/// <summary>One turn of a conversation: <c>{"role": …, "content": …}</c>. Richer messages (tool calls, content
/// blocks, reasoning) go to <see cref="ChatTemplate"/> as JSON.</summary>
/// <param name="Role">"system", "user", "assistant", "tool", …</param>
/// <param name="Content">The text of the turn.</param>
public sealed record ChatMessage(string Role, string Content)
{
    /// <summary>A system turn.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage System(string content) => new("system", content);

    /// <summary>A user turn.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage User(string content) => new("user", content);

    /// <summary>An assistant turn.</summary>
    /// <param name="content">The text.</param>
    /// <returns>The message.</returns>
    public static ChatMessage Assistant(string content) => new("assistant", content);
}
