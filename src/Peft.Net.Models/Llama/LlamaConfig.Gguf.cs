using Peft.Net.Core.IO.Gguf;
using Peft.Net.Models.Gguf;

namespace Peft.Net.Models;

public sealed partial record LlamaConfig
{
    /// <summary>
    /// The hyper-parameters of a GGUF model file (architecture <c>llama</c> or <c>qwen2</c>): the <c>{arch}.*</c> keys,
    /// the vocabulary size from <c>token_embd.weight</c>, tied embeddings when <c>output.weight</c> is absent, biases
    /// from the tensors present, and the special ids from <c>tokenizer.ggml.*</c>.
    /// </summary>
    /// <param name="path">The .gguf file.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file is malformed or a required key is missing or mistyped.</exception>
    /// <exception cref="NotSupportedException">The architecture or rope scaling is not supported.</exception>
    public static LlamaConfig FromGguf(string path)
    {
        using var file = GgufFile.Open(path);
        return LlamaGgufImport.ReadConfig(file);
    }
}
