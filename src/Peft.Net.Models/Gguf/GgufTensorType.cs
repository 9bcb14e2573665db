namespace Peft.Net.Models.Gguf;

/// <summary>The storage type of the matrices in an exported GGUF file (norms and biases are always F32, as llama.cpp's converter writes them).</summary>
public enum GgufTensorType
{
    /// <summary>float32: lossless.</summary>
    F32,
    /// <summary>IEEE half precision (round to nearest even).</summary>
    F16,
    /// <summary>bfloat16 (round to nearest even).</summary>
    BF16,
    /// <summary>8-bit blocks of 32 with an f16 scale (ggml's reference rounding); a matrix whose rows are not a multiple of 32 long falls back to F16, as llama.cpp's converter does.</summary>
    Q8_0,
}
