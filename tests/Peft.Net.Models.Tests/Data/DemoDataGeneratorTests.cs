using System.Globalization;
using System.Text.RegularExpressions;
using Peft.Net.Models.Data;

namespace Peft.Net.Models.Tests.Data;

/// <summary>Every generated answer is recomputed from its prompt by an independent solver.</summary>
public class DemoDataGeneratorTests
{
    private static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    /// <summary>Solves a prompt of any family from its text alone.</summary>
    private static string Solve(DemoTask task, string prompt)
    {
        Match m;
        switch (task)
        {
            case DemoTask.Arithmetic:
                m = Regex.Match(prompt, @"^What is (\d+) ([-+*]) (\d+)\?$");
                Assert.True(m.Success, prompt);
                int a = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), b = int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture);
                return (m.Groups[2].Value switch { "+" => a + b, "-" => a - b, _ => a * b }).ToString(CultureInfo.InvariantCulture);
            case DemoTask.ReverseWord:
                m = Regex.Match(prompt, "^Reverse the word \"([a-z]+)\"\\.$");
                Assert.True(m.Success, prompt);
                return string.Concat(m.Groups[1].Value.Reverse());
            case DemoTask.Uppercase:
                m = Regex.Match(prompt, "^Write \"([a-z ]+)\" in capital letters\\.$");
                Assert.True(m.Success, prompt);
                return m.Groups[1].Value.ToUpperInvariant();
            case DemoTask.SortNumbers:
                m = Regex.Match(prompt, @"^Sort these numbers from smallest to largest: ([\d, ]+)$");
                Assert.True(m.Success, prompt);
                return string.Join(", ", m.Groups[1].Value.Split(", ").Select(int.Parse).Order());
            case DemoTask.CountLetter:
                m = Regex.Match(prompt, "^How many times does the letter \"([a-z])\" appear in \"([a-z]+)\"\\?$");
                Assert.True(m.Success, prompt);
                return m.Groups[2].Value.Count(c => c == m.Groups[1].Value[0]).ToString(CultureInfo.InvariantCulture);
            case DemoTask.CapitalLookup:
                m = Regex.Match(prompt, @"^What is the capital of (.+)\?$");
                Assert.True(m.Success, prompt);
                return DemoDataGenerator.Capitals[m.Groups[1].Value];
            case DemoTask.DayOfWeek:
                m = Regex.Match(prompt, @"^If today is (\w+), what day will it be in (\d+) days?\?$");
                Assert.True(m.Success, prompt);
                return Days[(Array.IndexOf(Days, m.Groups[1].Value) + int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)) % 7];
            default:
                throw new ArgumentOutOfRangeException(nameof(task));
        }
    }

    public static TheoryData<DemoTask> Tasks => new(DemoDataGenerator.AllTasks);

    [Theory]
    [MemberData(nameof(Tasks))]
    public void EveryFamily_AnswersFollowFromThePrompt(DemoTask task)
    {
        var examples = new DemoDataGenerator(seed: 7).Generate(300, task);
        Assert.Equal(300, examples.Count);
        foreach (var example in examples)
            Assert.Equal(Solve(task, example.Prompt), example.Completion);
        Assert.True(examples.Select(e => e.Prompt).Distinct().Count() > 10, "prompts should vary");
    }

    [Fact]
    public void SameSeed_SameData_DifferentSeed_DifferentData()
    {
        var a = new DemoDataGenerator(42).Generate(200);
        var b = new DemoDataGenerator(42).Generate(200);
        var c = new DemoDataGenerator(43).Generate(200);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(new DemoDataGenerator(5).GenerateText(20), new DemoDataGenerator(5).GenerateText(20));
    }

    [Fact]
    public void Mixed_DrawsFromEveryRequestedFamilyOnly()
    {
        var examples = new DemoDataGenerator(3).Generate(400, DemoTask.Arithmetic, DemoTask.CapitalLookup);
        Assert.Contains(examples, e => e.Prompt.StartsWith("What is the capital", StringComparison.Ordinal));
        Assert.Contains(examples, e => Regex.IsMatch(e.Prompt, @"^What is \d"));
        Assert.All(examples, e => Assert.StartsWith("What is ", e.Prompt));

        var all = new DemoDataGenerator(3).Generate(700);
        foreach (var task in DemoDataGenerator.AllTasks)
            Assert.Contains(all, e => TrySolve(task, e));
    }

    private static bool TrySolve(DemoTask task, PromptCompletion example)
    {
        try
        {
            return Solve(task, example.Prompt) == example.Completion;
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException or KeyNotFoundException)
        {
            return false;
        }
    }

    [Fact]
    public void GenerateText_WritesSentencesThatEndWithPunctuation()
    {
        var paragraphs = new DemoDataGenerator(11).GenerateText(100, sentencesPerParagraph: 4);
        Assert.Equal(100, paragraphs.Count);
        Assert.All(paragraphs, p =>
        {
            Assert.False(string.IsNullOrWhiteSpace(p));
            Assert.Matches(@"^[A-Z""].*[.""]$", p);
        });
        Assert.True(paragraphs.Distinct().Count() > 90);
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var generator = new DemoDataGenerator(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.Generate(1, (DemoTask)99));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.GenerateText(1, sentencesPerParagraph: 0));
        Assert.Empty(generator.Generate(0));
    }
}
