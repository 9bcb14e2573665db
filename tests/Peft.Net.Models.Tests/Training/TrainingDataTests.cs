using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Training;

public sealed class TrainingDataTests
{
    private readonly ByteTokenizer _tokenizer = new();

    [Fact]
    public void Jsonl_prompt_completion_rows_train_on_the_completion_and_eos_only()
    {
        using var folder = new TempDirectory();
        string path = Path.Combine(folder.Path, "data.jsonl");
        JsonlDataset.Save(path, [new PromptCompletion("Hi", "yo")]);

        var example = Assert.Single(TrainingData.Load(path, _tokenizer, maxLength: 64));

        int[] prompt = _tokenizer.Encode("Hi", addSpecialTokens: true);
        Assert.Equal([.. prompt, 'y', 'o', ByteTokenizer.Eos], example.InputIds);
        Assert.Equal([.. prompt.Select(_ => -100), 'y', 'o', ByteTokenizer.Eos], example.Labels);
    }

    [Fact]
    public void Text_files_are_split_into_documents_followed_by_eos_and_packed()
    {
        using var folder = new TempDirectory();
        string path = Path.Combine(folder.Path, "data.txt");
        File.WriteAllText(path, "abc\n\ndefgh\n");

        var examples = TrainingData.Load(path, _tokenizer, maxLength: 4);

        var stream = examples.SelectMany(e => e.InputIds).ToArray();
        int[] expected = [.. _tokenizer.Encode("abc", true), ByteTokenizer.Eos, .. _tokenizer.Encode("defgh", true), ByteTokenizer.Eos];
        Assert.Equal(expected.Take(stream.Length), stream);
        Assert.All(examples.SkipLast(1), e => Assert.Equal(4, e.Length));
        Assert.All(examples, e => Assert.Equal(e.InputIds, e.Labels));
    }

    [Fact]
    public void An_empty_file_is_reported_with_its_name()
    {
        using var folder = new TempDirectory();
        string path = Path.Combine(folder.Path, "empty.txt");
        File.WriteAllText(path, "");
        var error = Assert.Throws<InvalidDataException>(() => TrainingData.Load(path, _tokenizer, 16));
        Assert.Contains("empty.txt", error.Message);
    }
}
