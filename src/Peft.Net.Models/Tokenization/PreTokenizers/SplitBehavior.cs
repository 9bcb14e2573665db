namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>What a split does with the delimiters it found (the tokenizers library's SplitDelimiterBehavior).</summary>
internal enum SplitBehavior
{
    /// <summary>Delimiters are dropped.</summary>
    Removed,

    /// <summary>Each delimiter becomes a piece of its own.</summary>
    Isolated,

    /// <summary>A delimiter is appended to the piece before it.</summary>
    MergedWithPrevious,

    /// <summary>A delimiter is prepended to the piece after it.</summary>
    MergedWithNext,

    /// <summary>Runs of consecutive delimiters become one piece.</summary>
    Contiguous,
}
