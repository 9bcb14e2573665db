using Peft.Net.Core;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Nn;

namespace Peft.Net.Quantization;

/// <summary>
/// A frozen linear layer whose weight [out, in] stays in bitsandbytes' 4-bit format (QLoRA's base layer,
/// bitsandbytes' <c>Linear4bit</c>): <c>y = x·dequant(W)ᵀ + b</c>. The GEMM decodes the weight tile by tile while
/// packing (<see cref="Core.Kernels.IPackableWeight"/>), so no float32 copy of the whole weight is ever made.
/// Gradients flow to the input and, when it requires one, to the bias; never to the 4-bit weight.
/// </summary>
public sealed partial class Nf4Linear : Module, ILinearLayer
{
    /// <summary>Wraps an already quantized weight [out, in] and an optional bias [out].</summary>
    /// <exception cref="ArgumentException">The weight is not 2-D, or the bias is not an F32 vector of length out.</exception>
    public Nf4Linear(QuantizedTensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        int[] shape = weight.Shape;
        if (shape.Length != 2)
            throw new ArgumentException($"An Nf4Linear weight must be 2-D [out, in]; got {weight.Describe()}.", nameof(weight));
        if (bias is not null && (bias.Rank != 1 || bias.Dim(0) != shape[0] || bias.DType != DType.F32))
            throw new ArgumentException($"The bias must be an F32 vector [{shape[0]}] for {weight.Describe()}; got {bias.Describe()}.", nameof(bias));
        Weight = weight;
        OutFeatures = shape[0];
        InFeatures = shape[1];
        bool trainableBias = bias?.RequiresGrad ?? false;
        RegisterParameter("bias", bias);
        if (bias is { IsLeaf: true }) bias.RequiresGrad = trainableBias; // keep the caller's choice (registration marks F32 trainable)
    }

    /// <summary>
    /// Quantizes a <see cref="Linear"/> layer's weight (F32, F16 or BF16). The bias tensor is shared with the source layer
    /// (same object) and keeps its trainable flag. Defaults follow QLoRA: NF4, blocksize 64, double quantization.
    /// </summary>
    public static Nf4Linear FromLinear(Linear linear, QuantType quantType = QuantType.Nf4, int blockSize = 64, bool doubleQuant = true)
    {
        ArgumentNullException.ThrowIfNull(linear);
        QuantizedTensor weight;
        using (Tensor.NoGrad())
            weight = Nf4Quantizer.Quantize(linear.Weight.Detach(), quantType, blockSize, doubleQuant);
        return new Nf4Linear(weight, linear.Bias);
    }

    /// <summary>K: input features.</summary>
    public int InFeatures { get; }

    /// <summary>N: output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The 4-bit weight [out, in].</summary>
    public QuantizedTensor Weight { get; private set; }

    /// <summary>The bias [out], or null.</summary>
    public Tensor? Bias => Parameter("bias");

    // x: (..., K) → (..., N)
    /// <inheritdoc/>
    /// <remarks>
    /// With a <see cref="GemvBackend"/> registered, a single input row without an input gradient to record is
    /// computed by the backend (float32 accumulation in its own order: equal to the CPU result within float32
    /// rounding, not bit for bit); otherwise, or when the backend declines, by the CPU GEMM.
    /// </remarks>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return TryForwardOnBackend(input) ?? Ops.Linear(input, Weight, Bias);
    }

    /// <summary>The weight decoded to a dense tensor [out, in] (F32 by default), e.g. to merge an adapter into it.</summary>
    public Tensor DequantizeWeight(DType dtype = DType.F32) => Weight.Dequantize(dtype);

    /// <inheritdoc/>
    public Tensor GetDenseWeight() => Weight.Dequantize(DType.F32);

    /// <inheritdoc/>
    /// <remarks>
    /// The values are rounded to the weight's original dtype and quantized again with the same quant type, blocksize
    /// and double quantization (what merging an adapter into a 4-bit base does in bitsandbytes).
    /// </remarks>
    public void SetDenseWeight(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.DType != DType.F32 || weight.Rank != 2 || weight.Dim(0) != OutFeatures || weight.Dim(1) != InFeatures)
            throw new ArgumentException($"Nf4Linear.SetDenseWeight: {weight.Describe()} must be F32 [{OutFeatures}, {InFeatures}].", nameof(weight));
        var current = Weight;
        using (Tensor.NoGrad())
            Weight = Nf4Quantizer.Quantize(weight.Detach().To(current.OriginalDType), current.QuantType, current.BlockSize, current.IsDoubleQuantized);
    }

    /// <inheritdoc/>
    public IPackableWeight? PackableWeight => Weight;
}
