namespace Peft.Net.Models.Tokenization.PreTokenizers;

/// <summary>When Metaspace puts its replacement character in front of a piece.</summary>
internal enum PrependScheme
{
    /// <summary>Before every piece that does not start with it already.</summary>
    Always,

    /// <summary>Only before the piece at the very start of the input.</summary>
    First,

    /// <summary>Never.</summary>
    Never,
}
