using Peft.Net.Models.Data;

namespace QuickStart;

/// <summary>The fine-tuning task: short instructions (uppercase, reverse a word, capital cities) in a Q/A layout.</summary>
internal static class InstructionTask
{
    public static readonly DemoTask[] Tasks = [DemoTask.Uppercase, DemoTask.ReverseWord, DemoTask.CapitalLookup];

    /// <summary>Other families, seen only during pre-training.</summary>
    public static readonly DemoTask[] PretrainingTasks = [DemoTask.DayOfWeek, DemoTask.CountLetter, DemoTask.SortNumbers];

    public static string Prompt(string question) => $"Q: {question}\nA: ";

    public static PromptCompletion AsInstruction(PromptCompletion example) => new(Prompt(example.Prompt), example.Completion);

    public static string Format(PromptCompletion example) => Prompt(example.Prompt) + example.Completion;
}
