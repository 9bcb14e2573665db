namespace Peft.Net.Models.Data;

/// <summary>A line of a JSONL file that could not be read.</summary>
/// <param name="LineNumber">1-based line number.</param>
/// <param name="Message">What was wrong with it.</param>
public sealed record JsonlLineError(int LineNumber, string Message);
