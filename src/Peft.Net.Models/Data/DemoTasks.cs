using System.Globalization;

namespace Peft.Net.Models.Data;

/// <summary>One generator per <see cref="DemoTask"/> family; each draws its inputs from the given random source.</summary>
internal static class DemoTasks
{
    public static PromptCompletion Create(DemoTask task, Random random) => task switch
    {
        DemoTask.Arithmetic => Arithmetic(random),
        DemoTask.ReverseWord => ReverseWord(random),
        DemoTask.Uppercase => Uppercase(random),
        DemoTask.SortNumbers => SortNumbers(random),
        DemoTask.CountLetter => CountLetter(random),
        DemoTask.CapitalLookup => CapitalLookup(random),
        DemoTask.DayOfWeek => DayOfWeek(random),
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown demo task."),
    };

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static PromptCompletion Arithmetic(Random random)
    {
        switch (random.Next(3))
        {
            case 0:
            {
                int a = random.Next(0, 100), b = random.Next(0, 100);
                return new($"What is {Number(a)} + {Number(b)}?", Number(a + b));
            }
            case 1:
            {
                int a = random.Next(0, 100), b = random.Next(0, a + 1); // non-negative results
                return new($"What is {Number(a)} - {Number(b)}?", Number(a - b));
            }
            default:
            {
                int a = random.Next(0, 13), b = random.Next(0, 13);
                return new($"What is {Number(a)} * {Number(b)}?", Number(a * b));
            }
        }
    }

    private static PromptCompletion ReverseWord(Random random)
    {
        string word = Pick(random, DemoVocabulary.Words);
        char[] reversed = word.ToCharArray();
        Array.Reverse(reversed);
        return new($"Reverse the word \"{word}\".", new string(reversed));
    }

    private static PromptCompletion Uppercase(Random random)
    {
        int count = random.Next(1, 4);
        string phrase = string.Join(" ", Enumerable.Range(0, count).Select(_ => Pick(random, DemoVocabulary.Words)));
        return new($"Write \"{phrase}\" in capital letters.", phrase.ToUpperInvariant());
    }

    private static PromptCompletion SortNumbers(Random random)
    {
        int[] numbers = Enumerable.Range(0, random.Next(3, 7)).Select(_ => random.Next(0, 100)).ToArray();
        string prompt = "Sort these numbers from smallest to largest: " + string.Join(", ", numbers.Select(Number));
        Array.Sort(numbers);
        return new(prompt, string.Join(", ", numbers.Select(Number)));
    }

    private static PromptCompletion CountLetter(Random random)
    {
        string word = Pick(random, DemoVocabulary.Words);
        // Mostly a letter of the word, sometimes one that may be absent (answer 0).
        char letter = random.Next(4) == 0 ? (char)('a' + random.Next(26)) : word[random.Next(word.Length)];
        int count = word.Count(c => c == letter);
        return new($"How many times does the letter \"{letter}\" appear in \"{word}\"?", Number(count));
    }

    private static PromptCompletion CapitalLookup(Random random)
    {
        var (country, capital) = Pick(random, DemoVocabulary.Capitals);
        return new($"What is the capital of {country}?", capital);
    }

    private static PromptCompletion DayOfWeek(Random random)
    {
        int today = random.Next(7), days = random.Next(1, 31);
        string unit = days == 1 ? "day" : "days";
        return new($"If today is {DemoVocabulary.Days[today]}, what day will it be in {Number(days)} {unit}?",
            DemoVocabulary.Days[(today + days) % 7]);
    }
}
