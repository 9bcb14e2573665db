using Peft.Net.Models;
using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Spectre.Console;

namespace FineTuneLlama;

/// <summary>Chat mode: a generated {"messages"} dataset, and a few questions put to the tuned model through its chat template.</summary>
public static class ChatDemo
{
    public const string SystemPrompt = "You answer with one short line.";

    /// <summary>Writes 400 conversations (system, user question, assistant answer) from the demo tasks to &lt;out&gt;/chat.jsonl.</summary>
    public static string WriteDataset(string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        string path = Path.Combine(outputDirectory, "chat.jsonl");
        var rows = new DemoDataGenerator(11).Generate(400).Select(e => DatasetRecord.FromMessages(
            [ChatMessage.System(SystemPrompt), ChatMessage.User(e.Prompt), ChatMessage.Assistant(e.Completion)]));
        JsonlDataset.Save(path, rows);
        AnsiConsole.MarkupLine($"Generated 400 conversations: [blue]{Markup.Escape(path)}[/]");
        return path;
    }

    /// <summary>Asks the tuned model three new questions; each answer stops at the model's end-of-turn tokens.</summary>
    public static IReadOnlyList<string> Chat(LlamaForCausalLM model, ITokenizer tokenizer, ChatTemplate template, string modelDirectory)
    {
        var stops = ChatStopTokens.FromDirectory(modelDirectory, model.Config.EosTokenIds, tokenizer);
        var answers = new List<string>();
        foreach (var question in new DemoDataGenerator(99).Generate(3))
        {
            string prompt = template.Render([ChatMessage.System(SystemPrompt), ChatMessage.User(question.Prompt)],
                new ChatTemplateOptions { AddGenerationPrompt = true });
            int[] ids = model.Generate(tokenizer.Encode(prompt), new GenerationOptions { MaxNewTokens = 24, StopTokens = stops });
            string answer = tokenizer.Decode(ids, skipSpecialTokens: true).Trim();
            answers.Add(answer);
            AnsiConsole.MarkupLine($"[grey]user:[/] {Markup.Escape(question.Prompt)}\n[grey]assistant:[/] {Markup.Escape(answer)} [grey](expected {Markup.Escape(question.Completion)})[/]");
        }
        return answers;
    }
}
