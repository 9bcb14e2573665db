using Peft.Net.Models.ChatTemplates;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tests.ChatTemplates;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Data;

/// <summary>{"messages"} rows in JSONL: parsing, validation, round trip, and TrainingData.Load's formats.</summary>
public sealed class ChatDatasetTests
{
    private const string Row =
        """{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "extra": [1, {"a": null}]}]}""";

    [Fact]
    public void MessagesRowsParseAndRoundTripWithEveryField()
    {
        var dataset = JsonlDataset.Parse(new StringReader(Row + "\n{\"text\": \"t\"}\n"));
        Assert.True(dataset.Records[0].IsChat);
        Assert.False(dataset.Records[0].IsPromptCompletion);
        Assert.Equal(["t"], dataset.Texts);
        var conversation = Assert.Single(dataset.Conversations);
        Assert.Equal("4", conversation[1].GetProperty("content").GetString());

        using var stream = new MemoryStream();
        JsonlDataset.Write(stream, dataset.Records);
        var again = JsonlDataset.Parse(new StringReader(System.Text.Encoding.UTF8.GetString(stream.ToArray())));
        Assert.Equal(conversation.GetRawText().Replace(" ", ""), again.Conversations.Single().GetRawText().Replace(" ", ""));
    }

    [Theory]
    [InlineData("""{"messages": "hi"}""", "\"messages\" must be an array")]
    [InlineData("""{"messages": []}""", "\"messages\" is empty")]
    [InlineData("""{"messages": [{"content": "x"}]}""", "messages[0] needs a string \"role\"")]
    [InlineData("""{"messages": [{"role": "user"}, 3]}""", "messages[1] must be an object")]
    public void BadMessagesRowsNameTheLineAndTheProblem(string line, string problem)
    {
        var e = Assert.Throws<JsonlFormatException>(() => JsonlDataset.Parse(new StringReader("\n" + line), "chat.jsonl"));
        Assert.Contains("chat.jsonl", e.Message);
        Assert.Contains("2", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void LoadPicksChatFromTheFirstRowAndRefusesMixedRows()
    {
        using var dir = new Training.TempDirectory();
        string path = Path.Combine(dir.Path, "chat.jsonl");
        File.WriteAllLines(path, [Row, Row]);
        var template = ChatTemplateFixtures.Load("smollm2");
        var tokenizer = new ByteTokenizer();
        var auto = TrainingData.Load(path, tokenizer, 512, DatasetFormat.Auto, template);
        var chat = TrainingData.Load(path, tokenizer, 512, DatasetFormat.Chat, template);
        Assert.Equal(2, auto.Count);
        Assert.Equal(auto[0].Labels, chat[0].Labels);
        Assert.Contains(auto[0].Labels, l => l == ExampleBuilder.IgnoreIndex);
        Assert.Equal("4<|im_end|>\n", tokenizer.Decode(auto[0].Labels.Where(l => l >= 0).ToArray()));

        var noTemplate = Assert.Throws<InvalidDataException>(() => TrainingData.Load(path, tokenizer, 512, DatasetFormat.Auto, null));
        Assert.Contains("need the model's chat template", noTemplate.Message);

        File.AppendAllText(path, "{\"prompt\": \"p\", \"completion\": \"c\"}\n");
        var mixed = Assert.Throws<InvalidDataException>(() => TrainingData.Load(path, tokenizer, 512, DatasetFormat.Auto, template));
        Assert.Contains("row 3 is not a {\"messages\"} row", mixed.Message);
    }

    [Fact]
    public void FromMessagesBuildsARowFromChatMessages()
    {
        var record = DatasetRecord.FromMessages([ChatMessage.User("hi"), ChatMessage.Assistant("hello")]);
        Assert.True(record.IsChat);
        Assert.Equal("assistant", record.Messages!.Value[1].GetProperty("role").GetString());
        Assert.Throws<InvalidOperationException>(() => record.ToPromptCompletion());
    }
}
