using System.Text;
using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Models.Training;

/// <summary>Tokenizes datasets into <see cref="TokenizedExample"/>s for the <see cref="Trainer"/>.</summary>
public static class TrainingData
{
    /// <summary>
    /// Prompt/completion pairs: <c>[BOS] prompt completion EOS</c> (BOS when the tokenizer adds one), truncated to
    /// <paramref name="maxLength"/>, loss on the completion and EOS only.
    /// </summary>
    public static IReadOnlyList<TokenizedExample> FromPromptCompletions(IEnumerable<PromptCompletion> examples, ITokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(tokenizer);
        return examples
            .Select(e => ExampleBuilder.PromptCompletion(tokenizer.Encode(e.Prompt, addSpecialTokens: true), tokenizer.Encode(e.Completion), tokenizer.EosTokenId, maxLength))
            .ToArray();
    }

    /// <summary>
    /// Plain text: each document encoded (with the tokenizer's special tokens) and followed by EOS, all joined into one
    /// stream and cut into chunks of <paramref name="chunkLength"/> tokens (<see cref="ExampleBuilder.PackText"/>).
    /// </summary>
    public static IReadOnlyList<TokenizedExample> FromTexts(IEnumerable<string> documents, ITokenizer tokenizer, int chunkLength)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var stream = new List<int>();
        foreach (var document in documents)
        {
            stream.AddRange(tokenizer.Encode(document, addSpecialTokens: true));
            if (tokenizer.EosTokenId is { } eos) stream.Add(eos);
        }
        return ExampleBuilder.PackText(stream.ToArray(), chunkLength);
    }

    /// <summary>
    /// Loads a dataset file: JSONL rows <c>{"prompt", "completion"}</c> (loss on the completion) and/or <c>{"text"}</c>
    /// (packed), or any other file as plain UTF-8 text (documents separated by blank lines, packed).
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="JsonlFormatException">A JSONL line is not a valid row.</exception>
    /// <exception cref="InvalidDataException">The file yields no training example.</exception>
    public static IReadOnlyList<TokenizedExample> Load(string path, ITokenizer tokenizer, int maxLength) =>
        Load(path, tokenizer, maxLength, DatasetFormat.Auto, null);

    /// <summary>
    /// Loads a dataset file in the given <paramref name="format"/>: conversations (<c>{"messages": […]}</c> rows)
    /// rendered with <paramref name="template"/> and, unless <paramref name="trainOnAll"/>, with loss on the assistant
    /// turns only (<see cref="ChatExamples"/>); prompt/completion rows; or text. <see cref="DatasetFormat.Auto"/> picks
    /// the format from the first row.
    /// </summary>
    /// <param name="path">The dataset file (.jsonl/.json rows, or plain text).</param>
    /// <param name="tokenizer">The model's tokenizer.</param>
    /// <param name="maxLength">Longest example in tokens.</param>
    /// <param name="format">How to read the rows.</param>
    /// <param name="template">The chat template (needed for conversations).</param>
    /// <param name="trainOnAll">Conversations: loss on every token instead of the assistant turns only.</param>
    /// <returns>The examples.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="JsonlFormatException">A JSONL line is not a valid row.</exception>
    /// <exception cref="InvalidDataException">The file yields no example, holds rows of another format, or conversations come without a template.</exception>
    public static IReadOnlyList<TokenizedExample> Load(string path, ITokenizer tokenizer, int maxLength, DatasetFormat format,
        ChatTemplate? template, bool trainOnAll = false)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such dataset file.", path);
        List<TokenizedExample> examples;
        bool isJson = path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        if (isJson)
        {
            var dataset = JsonlDataset.Load(path);
            if (format == DatasetFormat.Auto && dataset.Records.Count > 0)
                format = dataset.Records[0].IsChat ? DatasetFormat.Chat
                    : dataset.Records[0].IsPromptCompletion ? DatasetFormat.PromptCompletion : DatasetFormat.Text;
            examples = format switch
            {
                DatasetFormat.Chat => [.. LoadChat(path, dataset, tokenizer, maxLength, template, trainOnAll)],
                DatasetFormat.PromptCompletion => [.. FromPromptCompletions(Only(dataset, path, r => r.IsPromptCompletion, "{\"prompt\", \"completion\"}").Select(r => r.ToPromptCompletion()), tokenizer, maxLength)],
                DatasetFormat.Text => [.. FromTexts(Only(dataset, path, r => r.Text is not null, "{\"text\"}").Select(r => r.Text!), tokenizer, maxLength)],
                _ => [.. FromPromptCompletions(dataset.PromptCompletions, tokenizer, maxLength), .. FromTexts(dataset.Texts, tokenizer, maxLength)],
            };
        }
        else if (format is DatasetFormat.Chat or DatasetFormat.PromptCompletion)
        {
            throw new InvalidDataException($"{path}: the {format} format needs a .jsonl file of rows.");
        }
        else
        {
            string text = File.ReadAllText(path, Encoding.UTF8).ReplaceLineEndings("\n");
            var documents = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            examples = [.. FromTexts(documents, tokenizer, maxLength)];
        }
        if (examples.Count == 0)
            throw new InvalidDataException($"{path}: the file holds no training example (empty, or too short to predict a token).");
        return examples;
    }

    private static IReadOnlyList<TokenizedExample> LoadChat(string path, JsonlDataset dataset, ITokenizer tokenizer, int maxLength,
        ChatTemplate? template, bool trainOnAll)
    {
        if (template is null)
            throw new InvalidDataException($"{path}: conversation rows need the model's chat template, and the model has none (no chat_template in tokenizer_config.json or chat_template.jinja).");
        var conversations = Only(dataset, path, r => r.IsChat, "{\"messages\"}").Select(r => r.Messages!.Value);
        try
        {
            return ChatExamples.FromConversations(conversations, tokenizer, template, maxLength, assistantOnly: !trainOnAll);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static IEnumerable<DatasetRecord> Only(JsonlDataset dataset, string path, Func<DatasetRecord, bool> keep, string shape)
    {
        for (int i = 0; i < dataset.Records.Count; i++)
            if (!keep(dataset.Records[i]))
                throw new InvalidDataException($"{path}: row {i + 1} is not a {shape} row, as the first row (or --format) requires.");
        return dataset.Records;
    }
}
