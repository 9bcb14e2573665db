using System.Diagnostics;
using System.Globalization;
using Peft.Net.Cli.Commands.Train;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Models;
using Peft.Net.Models.ChatTemplates;

namespace Peft.Net.Cli.Commands;

/// <summary><c>peft generate --chat TEXT [--system TEXT]</c>: one templated turn, generation until an end-of-turn token.</summary>
internal static class ChatGeneration
{
    public static int Run(CliConsole console, string modelDir, string? adapterDir, string user, string? system, GenerationOptions options, bool printIds)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUserException(e.Message, e);
        }
        var model = GenerateCommand.Load(modelDir);
        if (adapterDir is not null) GenerateCommand.LoadAdapter(model, adapterDir);
        var tokenizer = ModelTokenizer.Load(modelDir, model.Config.VocabSize);
        var template = ChatTemplateLoader.Load(modelDir, required: true)!;
        var messages = new List<ChatMessage>();
        if (system is not null) messages.Add(ChatMessage.System(system));
        messages.Add(ChatMessage.User(user));
        string prompt;
        try
        {
            prompt = template.Render(messages, new ChatTemplateOptions { AddGenerationPrompt = true });
        }
        catch (ChatTemplateException e)
        {
            throw new CliUserException($"{modelDir}: chat template: {e.Message}", e);
        }
        IReadOnlyList<int> stops;
        try
        {
            stops = ChatStopTokens.FromDirectory(modelDir, model.Config.EosTokenIds, tokenizer);
        }
        catch (InvalidDataException e)
        {
            throw new CliUserException(e.Message, e);
        }
        // Templated text already holds its special tokens (BOS included where the template writes it).
        int[] promptIds = tokenizer.Encode(prompt);
        var clock = Stopwatch.StartNew();
        int[] generated;
        try
        {
            generated = model.Generate(promptIds, options with { StopTokens = stops });
        }
        catch (ArgumentException e)
        {
            throw new CliUserException($"{modelDir}: {e.Message}", e);
        }
        clock.Stop();
        console.Out.WriteLine(printIds ? string.Join(",", generated) : tokenizer.Decode(generated, skipSpecialTokens: true));
        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{modelDir}: {generated.Length} new tokens after {promptIds.Length} prompt ids in {seconds:F2} s ({generated.Length / seconds:F1} tokens/s); stops at {string.Join(",", stops)}"));
        return CliAction.Success;
    }
}
