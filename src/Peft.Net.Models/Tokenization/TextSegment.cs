namespace Peft.Net.Models.Tokenization;

/// <summary>A part of the input after added tokens are cut out: an added token's id, or text for the model.</summary>
/// <param name="Text">The (normalized) text; empty for an added token.</param>
/// <param name="TokenId">The added token's id, or -1 for text.</param>
/// <param name="AtStart">The segment begins at the start of the input.</param>
internal readonly record struct TextSegment(string Text, int TokenId, bool AtStart);
