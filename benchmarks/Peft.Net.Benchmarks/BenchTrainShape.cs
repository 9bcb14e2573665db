using Peft.Net.Models;

namespace Peft.Net.Benchmarks;

/// <summary>
/// The <c>peft bench train</c> default model and batch, shared by the step benchmarks: dim 512, 4 layers, 8 heads
/// (8 kv heads), FFN 1376, vocabulary 4096, 4 × 256 tokens, LoRA rank 8 and alpha 16 on every linear layer but the head.
/// </summary>
internal static class BenchTrainShape
{
    public const int Batch = 4, Seq = 256, Rank = 8;
    public const float Alpha = 16;

    /// <summary>A fresh config of the model.</summary>
    public static LlamaConfig Config() => new()
    {
        HiddenSize = 512, NumHiddenLayers = 4, NumAttentionHeads = 8, NumKeyValueHeads = 8,
        IntermediateSize = 1376, VocabSize = 4096, MaxPositionEmbeddings = 2048,
    };
}
