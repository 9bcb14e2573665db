using Microsoft.Extensions.AI;
using Peft.Net.Models.ChatTemplates;
using TemplateMessage = Peft.Net.Models.ChatTemplates.ChatMessage;

namespace Peft.Net.Extensions.AI;

/// <summary>
/// The model's own chat template (<c>chat_template</c> of its tokenizer_config.json or chat_template.jinja, rendered as
/// transformers' <c>apply_chat_template(…, add_generation_prompt=True)</c> does) as a <see cref="ChatPromptRenderer"/>.
/// </summary>
public static class ChatTemplatePromptRenderer
{
    /// <summary>A renderer over <paramref name="template"/>: each message's role and text, then the generation prompt.</summary>
    /// <param name="template">The model's template.</param>
    public static ChatPromptRenderer For(ChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        var options = new ChatTemplateOptions { AddGenerationPrompt = true };
        return (messages, _) => template.Render(messages.Select(m => new TemplateMessage(m.Role.Value, m.Text)), options);
    }

    /// <summary>
    /// The renderer of the template in model folder <paramref name="directory"/>, or <see cref="ChatMlPromptRenderer.Render"/>
    /// when the folder has none.
    /// </summary>
    /// <param name="directory">The model folder (tokenizer_config.json or chat_template.jinja).</param>
    public static ChatPromptRenderer FromDirectory(string directory) =>
        ChatTemplate.FromDirectory(directory) is { } template ? For(template) : ChatMlPromptRenderer.Render;
}
