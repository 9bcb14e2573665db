using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Nn;

/// <summary>
/// A linear layer <c>y = x·Wᵀ + b</c> with weight [out, in] that adapters can wrap: <see cref="Linear"/> (F32, F16 or
/// BF16 storage) or a 4-bit quantized linear layer. Adapters read and rewrite the weight through float32 copies, so
/// they need not know how it is stored.
/// </summary>
public interface ILinearLayer
{
    /// <summary>K: input features.</summary>
    int InFeatures { get; }

    /// <summary>N: output features.</summary>
    int OutFeatures { get; }

    /// <summary>The bias [out], or null.</summary>
    Tensor? Bias { get; }

    // x: (..., K) → (..., N)
    /// <summary>The layer's output for <paramref name="input"/> [..., in]: [..., out].</summary>
    Tensor Forward(Tensor input);

    /// <summary>A new float32 copy of the weight [out, in] (dequantized when the storage is 4-bit), not recorded by autograd.</summary>
    Tensor GetDenseWeight();

    /// <summary>
    /// Replaces the weight's values with <paramref name="weight"/>, a float32 [out, in] tensor. The storage dtype stays
    /// as it was: F16/BF16 round to nearest even, 4-bit storage is quantized again.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is not F32 [out, in].</exception>
    void SetDenseWeight(Tensor weight);

    /// <summary>
    /// The weight as a GEMM operand when it is frozen non-F32 storage (F16, BF16, 4-bit) that the GEMM decodes while
    /// packing; null for an F32 weight (use <see cref="GetDenseWeight"/> or the layer itself).
    /// </summary>
    IPackableWeight? PackableWeight { get; }
}
