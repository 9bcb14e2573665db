using System.Text;
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
    public static IReadOnlyList<TokenizedExample> Load(string path, ITokenizer tokenizer, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such dataset file.", path);
        List<TokenizedExample> examples;
        if (path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            var dataset = JsonlDataset.Load(path);
            examples = [.. FromPromptCompletions(dataset.PromptCompletions, tokenizer, maxLength), .. FromTexts(dataset.Texts, tokenizer, maxLength)];
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
}
