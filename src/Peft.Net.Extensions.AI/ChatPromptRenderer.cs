using Microsoft.Extensions.AI;

namespace Peft.Net.Extensions.AI;

/// <summary>
/// Turns chat messages into the prompt text the model was trained on (its chat template), ending with the opening of
/// the assistant's turn. Plug in the model's real template renderer here; <see cref="ChatMlPromptRenderer"/> is the
/// fallback.
/// </summary>
/// <param name="messages">The conversation so far.</param>
/// <param name="options">The request's options (a renderer may read tools or additional properties).</param>
/// <returns>The prompt text, tokenized with special tokens recognised.</returns>
public delegate string ChatPromptRenderer(IReadOnlyList<ChatMessage> messages, ChatOptions? options);

/// <summary>The ChatML layout (Qwen2, SmolLM2 and many fine-tunes): <c>&lt;|im_start|&gt;role\ntext&lt;|im_end|&gt;\n</c> per message, then <c>&lt;|im_start|&gt;assistant\n</c>.</summary>
public static class ChatMlPromptRenderer
{
    /// <summary>The end-of-turn marker, also the natural stop sequence.</summary>
    public const string EndOfTurn = "<|im_end|>";

    /// <summary>Renders <paramref name="messages"/> in ChatML with the assistant's turn opened.</summary>
    /// <param name="messages">The conversation.</param>
    /// <param name="options">Unused.</param>
    public static string Render(IReadOnlyList<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var text = new System.Text.StringBuilder();
        foreach (var message in messages)
            text.Append("<|im_start|>").Append(message.Role.Value).Append('\n').Append(message.Text).Append(EndOfTurn).Append('\n');
        return text.Append("<|im_start|>assistant\n").ToString();
    }
}
