using Peft.Net.Models.Data;

namespace Peft.Net.Models.Tests.Data;

public class JsonlDatasetTests
{
    [Fact]
    public void SaveThenLoad_RoundTripsBothRowKinds()
    {
        string path = Path.GetTempFileName();
        try
        {
            var examples = new DemoDataGenerator(9).Generate(50);
            var records = examples.Select(e => DatasetRecord.FromPromptCompletion(e.Prompt, e.Completion))
                .Append(DatasetRecord.FromText("Unicode: café 日本 😀, quotes \" and \\ backslash,\nnewline\ttab"))
                .Append(DatasetRecord.FromPromptCompletion("", "empty prompt is allowed"))
                .ToList();
            JsonlDataset.Save(path, records);

            var loaded = JsonlDataset.Load(path);
            Assert.Equal(records, loaded.Records);
            Assert.Equal(0, loaded.SkippedLineCount);
            Assert.Equal(examples.Append(new PromptCompletion("", "empty prompt is allowed")), loaded.PromptCompletions);
            Assert.Single(loaded.Texts);
            Assert.Equal(records.Count, File.ReadAllLines(path).Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void SaveOverloads_WritePromptCompletionAndTextRows()
    {
        string path = Path.GetTempFileName();
        try
        {
            JsonlDataset.Save(path, [new PromptCompletion("What is 1 + 1?", "2")]);
            Assert.Equal("{\"prompt\":\"What is 1 + 1?\",\"completion\":\"2\"}\n", File.ReadAllText(path));
            JsonlDataset.SaveTexts(path, ["héllo", "world"]);
            Assert.Equal(["héllo", "world"], JsonlDataset.Load(path).Texts);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private const string MixedInput =
        "{\"prompt\": \"a\", \"completion\": \"b\", \"id\": 1}\n" + // 1 ok (extra field ignored)
        "\n" +                                                      // 2 blank: ignored
        "{\"text\": \"hello\"}\n" +                                 // 3 ok
        "{\"prompt\": \"a\"}\n" +                                   // 4 no completion
        "not json\n" +                                              // 5 invalid JSON
        "[1, 2]\n" +                                                // 6 not an object
        "{\"text\": 5}\n" +                                         // 7 text not a string
        "{\"other\": \"x\"}\n" +                                    // 8 no known field
        "  {\"text\": \"last\"}  \r\n";                             // 9 ok, CRLF and spaces

    [Fact]
    public void BadLine_ThrowsWithFileAndLineNumber()
    {
        var e = Assert.Throws<JsonlFormatException>(() => JsonlDataset.Parse(new StringReader(MixedInput), "data.jsonl"));
        Assert.Equal(4, e.LineNumber);
        Assert.Equal("data.jsonl", e.FileName);
        Assert.StartsWith("data.jsonl:4:", e.Message);
        Assert.Contains("no \"completion\"", e.Message);
    }

    [Fact]
    public void SkipBadLines_CountsAndReportsThem()
    {
        var dataset = JsonlDataset.Parse(new StringReader(MixedInput), "data.jsonl", skipBadLines: true);
        Assert.Equal(3, dataset.Records.Count);
        Assert.Equal("b", dataset.Records[0].Completion);
        Assert.Equal(["hello", "last"], dataset.Texts);
        Assert.Equal(5, dataset.SkippedLineCount);
        Assert.Equal([4, 5, 6, 7, 8], dataset.Errors.Select(err => err.LineNumber));
        Assert.Contains("not valid JSON", dataset.Errors[1].Message);
        Assert.Contains("JSON object", dataset.Errors[2].Message);
        Assert.Contains("must be a string", dataset.Errors[3].Message);
    }

    [Fact]
    public void Load_MissingFile_Throws()
    {
        Assert.Throws<FileNotFoundException>(() => JsonlDataset.Load(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".jsonl")));
    }

    [Fact]
    public void TextRow_IsNotAPromptCompletion()
    {
        var row = DatasetRecord.FromText("x");
        Assert.False(row.IsPromptCompletion);
        Assert.Throws<InvalidOperationException>(() => row.ToPromptCompletion());
    }
}
