namespace Peft.Net.Models.Gguf;

/// <summary>Settings of <see cref="LlamaForCausalLM.ExportGguf"/>.</summary>
public sealed record GgufExportOptions
{
    /// <summary>Storage type of the matrices (default F32).</summary>
    public GgufTensorType TensorType { get; init; } = GgufTensorType.F32;

    /// <summary>
    /// A Hugging Face model or tokenizer folder with <c>tokenizer.json</c> (and optionally <c>tokenizer_config.json</c>
    /// for the special tokens and the chat template) whose tokenizer goes into <c>tokenizer.ggml.*</c>, or a .gguf file
    /// whose <c>tokenizer.*</c> keys are copied. Required: llama.cpp refuses a model file without a vocabulary.
    /// </summary>
    public required string TokenizerDirectory { get; init; }

    /// <summary>The <c>general.name</c> written into the file (default: the output file name without extension).</summary>
    public string? Name { get; init; }
}
