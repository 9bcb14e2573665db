using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models.Gguf;

namespace Peft.Net.Models.Tokenization;

/// <summary>Tokenizers stored in GGUF files (<c>tokenizer.ggml.*</c>).</summary>
public static class GgufTokenizer
{
    /// <summary>
    /// The tokenizer of a GGUF file as a <see cref="BpeTokenizer"/>: <c>llama</c> (SentencePiece: "▁" spaces, byte
    /// fallback, merges ranked by piece scores) or <c>gpt2</c> (byte-level BPE; pre-tokenizers llama-bpe, qwen2,
    /// smollm, gpt-2/default), with the file's BOS/EOS/padding ids and add_bos/add_eos switches.
    /// </summary>
    /// <param name="path">The .gguf file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file or its tokenizer metadata is malformed.</exception>
    /// <exception cref="NotSupportedException">The tokenizer model or pre-tokenizer is not supported.</exception>
    public static BpeTokenizer FromGguf(string path)
    {
        using var file = GgufFile.Open(path);
        return GgufTokenizerReader.Read(file);
    }

    /// <summary>The chat template (<c>tokenizer.chat_template</c>) of a GGUF file, or null.</summary>
    /// <param name="path">The .gguf file.</param>
    public static string? ChatTemplate(string path)
    {
        using var file = GgufFile.Open(path);
        return GgufMetadata.Optional<string>(file, "tokenizer.chat_template");
    }
}
