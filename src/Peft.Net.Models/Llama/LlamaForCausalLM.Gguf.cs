using Peft.Net.Core;
using Peft.Net.Models.Gguf;

namespace Peft.Net.Models;

public sealed partial class LlamaForCausalLM
{
    /// <summary>
    /// Loads a GGUF model file (architecture <c>llama</c> or <c>qwen2</c>; tensors F32, F16, BF16, Q8_0, Q4_0, Q4_K or
    /// Q6_K, dequantized to float32 exactly as llama.cpp does), undoing llama.cpp's q/k row permutation. The file is
    /// validated strictly (see <see cref="Core.IO.Gguf.GgufFile"/>). The model is returned in evaluation mode; its
    /// tokenizer comes from <see cref="Tokenization.GgufTokenizer.FromGguf"/>.
    /// </summary>
    /// <param name="path">The .gguf file.</param>
    /// <param name="dtype">Storage dtype of the matrices (null or F32: trainable float32).</param>
    /// <param name="loadIn4Bit">Quantize the linear layers (all but lm_head) to NF4 after loading (QLoRA).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="Core.IO.Gguf.GgufFormatException">The file is malformed, or its tensors do not match its metadata.</exception>
    /// <exception cref="NotSupportedException">The architecture, a tensor type or a rope scaling is not supported.</exception>
    public static LlamaForCausalLM FromGguf(string path, DType? dtype = null, bool loadIn4Bit = false)
    {
        var model = LlamaGgufImport.Load(path, dtype);
        if (loadIn4Bit) LlamaCheckpoint.QuantizeLinearLayers(model);
        return model;
    }

    /// <summary>
    /// Writes the model as a GGUF v3 file that llama.cpp (and LLamaSharp) loads: llama.cpp's tensor names and
    /// metadata, q/k rows permuted for architecture <c>llama</c>, the tokenizer of
    /// <see cref="GgufExportOptions.TokenizerDirectory"/> and its chat template. Merge adapters first
    /// (<c>MergeAndUnload</c>). Written to a temporary file, then renamed.
    /// </summary>
    /// <param name="path">The .gguf file to write.</param>
    /// <param name="options">Tensor type and tokenizer folder.</param>
    /// <exception cref="InvalidOperationException">The model still holds adapters or 4-bit layers.</exception>
    /// <exception cref="NotSupportedException">The tokenizer has no llama.cpp equivalent.</exception>
    public void ExportGguf(string path, GgufExportOptions options) => LlamaGgufExport.Export(this, path, options);
}
