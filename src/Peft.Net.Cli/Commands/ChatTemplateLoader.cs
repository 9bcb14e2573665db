using Peft.Net.Cli.Infrastructure;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Cli.Commands;

/// <summary>The model folder's chat template for train, generate --chat and template, with one-line errors.</summary>
internal static class ChatTemplateLoader
{
    /// <summary>The template, or null when the folder has none (or it does not parse) and none is <paramref name="required"/>.</summary>
    public static ChatTemplate? Load(string modelDir, bool required)
    {
        try
        {
            return ChatTemplate.FromDirectory(modelDir)
                ?? (required ? throw new CliUserException($"{modelDir}: the model has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja)") : null);
        }
        catch (Exception e) when (e is ChatTemplateException or InvalidDataException)
        {
            if (!required) return null;
            throw new CliUserException(e.Message.StartsWith(modelDir, StringComparison.Ordinal) ? e.Message : $"{modelDir}: {e.Message}", e);
        }
    }
}
