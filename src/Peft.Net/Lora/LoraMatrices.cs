using Peft.Net.Core;

namespace Peft.Net.Lora;

/// <summary>The A [R, K] and B [N, R] parameters of one adapter of a LoRA layer (for linear: K in, N out; for embeddings: K = V, N = C).</summary>
internal static class LoraMatrices
{
    /// <exception cref="NotSupportedException">A LoRA layer type other than <see cref="LoraLinear"/> and <see cref="LoraEmbedding"/>.</exception>
    public static (Tensor A, Tensor B) Get(ILoraLayer layer, string adapterName) => layer switch
    {
        LoraLinear linear => (linear.GetLoraA(adapterName), linear.GetLoraB(adapterName)),
        LoraEmbedding embedding => (embedding.GetLoraA(adapterName), embedding.GetLoraB(adapterName)),
        _ => throw new NotSupportedException($"{layer.GetType().Name} does not expose its LoRA matrices."),
    };
}
