using System.CommandLine;
using System.Text.Json;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft template --model &lt;dir&gt; --messages &lt;file.json&gt; [--tools &lt;file.json&gt;] [--add-generation-prompt]
/// [--var name=value]</c>: prints exactly the text the model's chat template renders for the messages (no newline
/// added), as transformers' <c>apply_chat_template(..., tokenize=False)</c> would.
/// </summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model folder (tokenizer_config.json with chat_template, or chat_template.jinja).", Required = true };
        var messages = new Option<string>("--messages") { Description = "A JSON file: an array of {\"role\", \"content\", …} messages, or an object with \"messages\".", Required = true };
        var tools = new Option<string?>("--tools") { Description = "A JSON file with the tool schemas (an array)." };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "Append the opening of an assistant turn." };
        var variables = new Option<string[]>("--var") { Description = "Extra template variable name=value (value as JSON, else a string), e.g. enable_thinking=false.", AllowMultipleArgumentsPerToken = false };
        var command = new Command("template", "Print what the model's chat template renders for a conversation.") { model, messages, tools, generationPrompt, variables };
        command.SetCliAction((result, console) =>
        {
            string modelDir = result.GetValue(model)!;
            if (!Directory.Exists(modelDir)) throw new CliUserException($"{modelDir}: no such model folder");
            var template = ChatTemplateLoader.Load(modelDir, required: true)!;
            var conversation = ReadJson(result.GetValue(messages)!);
            if (conversation.ValueKind == JsonValueKind.Object && conversation.TryGetProperty("messages", out var inner)) conversation = inner;
            if (conversation.ValueKind != JsonValueKind.Array)
                throw new CliUserException($"{result.GetValue(messages)}: expected a JSON array of messages (or an object with \"messages\")");
            JsonElement? toolSchemas = result.GetValue(tools) is { } toolsPath ? ReadJson(toolsPath) : null;
            var options = new ChatTemplateOptions
            {
                AddGenerationPrompt = result.GetValue(generationPrompt),
                Tools = toolSchemas,
                Variables = ParseVariables(result.GetValue(variables) ?? []),
            };
            try
            {
                console.Out.Write(template.Render(conversation, options));
            }
            catch (ChatTemplateException e)
            {
                throw new CliUserException($"{modelDir}: chat template: {e.Message}", e);
            }
            return CliAction.Success;
        });
        return command;
    }

    private static JsonElement ReadJson(string path)
    {
        if (!File.Exists(path)) throw new CliUserException($"{path}: no such file");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CliUserException($"{path}: not valid JSON ({e.Message})", e);
        }
    }

    private static Dictionary<string, object?> ParseVariables(string[] items)
    {
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (string item in items)
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) throw new CliUserException($"--var: '{item}' is not name=value");
            string value = item[(eq + 1)..];
            try
            {
                using var doc = JsonDocument.Parse(value);
                variables[item[..eq]] = doc.RootElement.Clone();
            }
            catch (JsonException)
            {
                variables[item[..eq]] = value;
            }
        }
        return variables;
    }
}
