namespace Peft.Net.Models.Data;

/// <summary>
/// One row of a JSONL dataset: either a prompt/completion pair (<c>{"prompt": …, "completion": …}</c>) or plain text
/// (<c>{"text": …}</c>).
/// </summary>
public sealed record DatasetRecord
{
    private DatasetRecord(string? prompt, string? completion, string? text)
    {
        Prompt = prompt;
        Completion = completion;
        Text = text;
    }

    /// <summary>The prompt of a prompt/completion row; null for a text row.</summary>
    public string? Prompt { get; }

    /// <summary>The completion of a prompt/completion row; null for a text row.</summary>
    public string? Completion { get; }

    /// <summary>The text of a text row; null for a prompt/completion row.</summary>
    public string? Text { get; }

    /// <summary>True for a prompt/completion row, false for a text row.</summary>
    public bool IsPromptCompletion => Prompt is not null;

    /// <summary>A prompt/completion row.</summary>
    /// <param name="prompt">The prompt.</param>
    /// <param name="completion">The completion.</param>
    /// <returns>The row.</returns>
    public static DatasetRecord FromPromptCompletion(string prompt, string completion)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ArgumentNullException.ThrowIfNull(completion);
        return new DatasetRecord(prompt, completion, null);
    }

    /// <summary>A plain-text row.</summary>
    /// <param name="text">The text.</param>
    /// <returns>The row.</returns>
    public static DatasetRecord FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new DatasetRecord(null, null, text);
    }

    /// <summary>The row as a <see cref="PromptCompletion"/>.</summary>
    /// <returns>The pair.</returns>
    /// <exception cref="InvalidOperationException">This is a text row.</exception>
    public PromptCompletion ToPromptCompletion() => IsPromptCompletion
        ? new PromptCompletion(Prompt!, Completion!)
        : throw new InvalidOperationException("This dataset row is a {\"text\"} row, not a {\"prompt\", \"completion\"} row.");
}
