namespace Peft.Net.Models.Data;

/// <summary>
/// Makes demo training data offline: instruction/response pairs from task families with deterministic answers,
/// and plain sentences for pre-training-style runs. The same seed gives the same data on every machine.
/// </summary>
/// <example>
/// <code>
/// var data = new DemoDataGenerator(seed: 42).Generate(1000, DemoTask.Arithmetic, DemoTask.ReverseWord);
/// // data[0] might be ("What is 17 + 25?", "42")
/// </code>
/// </example>
public sealed class DemoDataGenerator
{
    private readonly Random _random;

    /// <summary>Creates a generator whose output depends only on <paramref name="seed"/>.</summary>
    /// <param name="seed">The random seed.</param>
    public DemoDataGenerator(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
    }

    /// <summary>The seed the generator was created with.</summary>
    public int Seed { get; }

    /// <summary>All task families, in declaration order.</summary>
    public static IReadOnlyList<DemoTask> AllTasks { get; } = Enum.GetValues<DemoTask>();

    /// <summary>The made-up country → capital table behind <see cref="DemoTask.CapitalLookup"/>.</summary>
    public static IReadOnlyDictionary<string, string> Capitals { get; } =
        DemoVocabulary.Capitals.ToDictionary(p => p.Country, p => p.Capital);

    /// <summary>Generates <paramref name="count"/> examples, each from a task family drawn uniformly from <paramref name="tasks"/>.</summary>
    /// <param name="count">Number of examples.</param>
    /// <param name="tasks">Task families to draw from; none means all of them.</param>
    /// <returns>The examples, in generation order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative, or a task is not a defined <see cref="DemoTask"/>.</exception>
    public IReadOnlyList<PromptCompletion> Generate(int count, params DemoTask[] tasks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(tasks);
        foreach (var task in tasks)
            if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(tasks), task, "Unknown demo task.");
        IReadOnlyList<DemoTask> pool = tasks.Length == 0 ? AllTasks : tasks;
        var examples = new List<PromptCompletion>(count);
        for (int i = 0; i < count; i++)
            examples.Add(DemoTasks.Create(pool[_random.Next(pool.Count)], _random));
        return examples;
    }

    /// <summary>Generates one example of the given family.</summary>
    /// <param name="task">The task family.</param>
    /// <returns>The example.</returns>
    public PromptCompletion Generate(DemoTask task) => DemoTasks.Create(task, _random);

    /// <summary>
    /// Generates <paramref name="count"/> short paragraphs of template sentences ("Alice found the old clock near the
    /// station.") for pre-training-style data.
    /// </summary>
    /// <param name="count">Number of paragraphs.</param>
    /// <param name="sentencesPerParagraph">Most sentences in one paragraph (at least one is always written).</param>
    /// <returns>The paragraphs.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="sentencesPerParagraph"/> is below 1.</exception>
    public IReadOnlyList<string> GenerateText(int count, int sentencesPerParagraph = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(sentencesPerParagraph, 1);
        var paragraphs = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            int sentences = _random.Next(1, sentencesPerParagraph + 1);
            paragraphs.Add(string.Join(" ", Enumerable.Range(0, sentences).Select(_ => DemoSentences.Create(_random))));
        }
        return paragraphs;
    }
}
