namespace Peft.Net.Models.Data;

/// <summary>One instruction-tuning example: the prompt the model sees and the completion it should write.</summary>
/// <param name="Prompt">The instruction or question.</param>
/// <param name="Completion">The expected answer.</param>
public sealed record PromptCompletion(string Prompt, string Completion);
