using Peft.Net.Cli.Infrastructure;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Cli.Commands.Train;

/// <summary>The tokenizer of a model folder: its tokenizer.json, else the byte-level <see cref="ByteTokenizer"/> when the vocabulary has room for it.</summary>
internal static class ModelTokenizer
{
    public static ITokenizer Load(string modelDir, int vocabSize)
    {
        if (ModelSource.IsGguf(modelDir)) return ModelSource.Tokenizer(modelDir);
        if (File.Exists(Path.Combine(modelDir, "tokenizer.json")))
            return Tokenizer.FromDirectory(modelDir);
        var bytes = new ByteTokenizer();
        if (vocabSize >= bytes.VocabSize)
            return bytes;
        throw new CliUserException(
            $"{modelDir}: no tokenizer.json, and the vocabulary ({vocabSize}) is too small for the byte-level tokenizer ({bytes.VocabSize} ids)");
    }
}
