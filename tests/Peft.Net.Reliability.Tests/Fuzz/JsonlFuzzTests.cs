using System.Text;
using Peft.Net.Models.Data;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Mutated JSONL text: the strict reader fails only with <see cref="JsonlFormatException"/> naming the source and a
/// line that exists; the lenient reader never throws, and the two agree on whether a line was bad.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class JsonlFuzzTests(ITestOutputHelper output)
{
    public const double Share = 0.13;

    private const string Source = "fuzz.jsonl";

    private static readonly string[] Pieces = ["hello", "wörld", "日本語", "emoji 🙂", "tab\there", "quote \" and \\ backslash", "line\nbreak", "", "  spaces  ", "\u0001ctl"];

    [Fact]
    public void MutatedLinesAreReportedWithTheirLineNumbers()
    {
        var seeds = Enumerable.Range(0, 6).Select(SeedText).ToList();
        new FuzzRunner
        {
            Target = "jsonl",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var seed = seeds[rng.Next(seeds.Count)];
                if (rng.Next(2) == 0)
                    return new FuzzCase(0, 0, "", ByteMutator.Mutate(seed, rng, out string what)) with { Mutation = what };
                var lines = Encoding.UTF8.GetString(seed).Split('\n');
                int line = rng.Next(lines.Length);
                var edited = JsonMutator.Mutate(Encoding.UTF8.GetBytes(lines[line]), rng, out string edit);
                lines[line] = Encoding.UTF8.GetString(edited).Replace('\n', ' ');
                return new FuzzCase(0, 0, $"line {line + 1}: {edit}", Encoding.UTF8.GetBytes(string.Join('\n', lines)));
            },
            Exercise = c =>
            {
                int lineCount = LineCount(c.Input);
                var lenient = JsonlDataset.Parse(Reader(c.Input), Source, skipBadLines: true);
                if (lenient.Records.Count + lenient.SkippedLineCount > lineCount)
                    throw new InvalidOperationException($"{lenient.Records.Count} rows and {lenient.SkippedLineCount} errors from {lineCount} lines");
                if (lenient.Errors.Any(e => e.LineNumber < 1 || e.LineNumber > lineCount))
                    throw new InvalidOperationException("a skipped line number is outside the file");
                try
                {
                    var strict = JsonlDataset.Parse(Reader(c.Input), Source);
                    if (lenient.SkippedLineCount != 0 || strict.Records.Count != lenient.Records.Count)
                        throw new InvalidOperationException("the strict reader accepted what the lenient reader skipped");
                }
                catch (JsonlFormatException e)
                {
                    if (lenient.SkippedLineCount == 0 || e.LineNumber != lenient.Errors[0].LineNumber)
                        throw new InvalidOperationException($"strict reader failed on line {e.LineNumber}; lenient reader skipped [{string.Join(", ", lenient.Errors.Select(x => x.LineNumber))}]");
                    throw;
                }
            },
            Allowed = [typeof(JsonlFormatException)],
            CheckMessage = (_, e) =>
            {
                var jsonl = (JsonlFormatException)e;
                if (!e.Message.StartsWith($"{Source}:{jsonl.LineNumber}: ", StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not start with source:line");
            },
            AllocationFactor = 64,
            AllocationSlack = 512 << 10,
        }.Run(output);
    }

    private static TextReader Reader(byte[] bytes) => new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);

    private static int LineCount(byte[] bytes)
    {
        using var reader = Reader(bytes);
        int count = 0;
        while (reader.ReadLine() is not null) count++;
        return count;
    }

    private static byte[] SeedText(int seed)
    {
        var rng = new Random(seed);
        var records = Enumerable.Range(0, 3 + rng.Next(6)).Select(_ =>
        {
            string Piece() => string.Join(" ", Enumerable.Range(0, 1 + rng.Next(3)).Select(_ => Pieces[rng.Next(Pieces.Length)]));
            return rng.Next(3) == 0 ? DatasetRecord.FromText(Piece()) : DatasetRecord.FromPromptCompletion(Piece(), Piece());
        }).ToList();
        using var stream = new MemoryStream();
        JsonlDataset.Write(stream, records);
        return stream.ToArray();
    }
}
