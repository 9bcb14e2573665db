namespace Peft.Net.Models.Tokenization;

/// <summary>Entry point that picks the right tokenizer for a model folder.</summary>
public static class Tokenizer
{
    /// <summary>
    /// Loads the tokenizer of a Hugging Face model folder: <c>tokenizer.json</c> (BPE models) plus
    /// <c>tokenizer_config.json</c> for the BOS/EOS names (the chat template is ignored).
    /// </summary>
    /// <param name="directory">A model folder.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The folder has no tokenizer.json.</exception>
    /// <exception cref="InvalidDataException">A file is malformed.</exception>
    /// <exception cref="NotSupportedException">The tokenizer type (e.g. WordPiece, Unigram) is not supported.</exception>
    public static BpeTokenizer FromDirectory(string directory) => BpeTokenizer.FromDirectory(directory);
}
