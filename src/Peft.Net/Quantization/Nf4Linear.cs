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
/// <remarks>
/// In <see cref="Module.StateDict"/> the weight appears in bitsandbytes' key layout — <c>weight</c> (packed U8
/// [ceil(n/2), 1]), <c>weight.absmax</c>, <c>weight.quant_map</c>, <c>weight.nested_absmax</c>,
/// <c>weight.nested_quant_map</c>, <c>weight.quant_state.bitsandbytes__nf4</c> (see <see cref="Bnb4BitSerializer"/>) —
/// so <c>Safetensors.Save(path, model.StateDict())</c> writes a file bitsandbytes loads, and
/// <see cref="Module.LoadStateDict"/> rebuilds the weight from such parts (any quant type, blocksize or double
/// quantization; the shape must be [out, in]).
/// </remarks>
public sealed class Nf4Linear : Module
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

    /// <summary>The 4-bit weight [out, in]; replaced when a state dict is loaded.</summary>
    public QuantizedTensor Weight { get; private set; }

    /// <summary>The bias [out], or null.</summary>
    public Tensor? Bias => Parameter("bias");

    // x: (..., K) → (..., N)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Linear(input, Weight, Bias);

    /// <summary>The weight decoded to a dense tensor [out, in] (F32 by default), e.g. to merge an adapter into it.</summary>
    public Tensor DequantizeWeight(DType dtype = DType.F32) => Weight.Dequantize(dtype);

    /// <summary>A new float32 copy of the weight [out, in], dequantized (not recorded by autograd).</summary>
    public Tensor GetDenseWeight() => Weight.Dequantize(DType.F32);

    /// <summary>
    /// Replaces the weight by <paramref name="weight"/> (F32 [out, in]) quantized again with the same quant type,
    /// blocksize and double quantization. As PEFT's merge into a bitsandbytes 4-bit layer does, the values are first
    /// rounded to the weight's original dtype (BF16/F16), which the quant_state keeps recording.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="weight"/> is not F32 [out, in].</exception>
    public void SetDenseWeight(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.DType != DType.F32 || weight.Rank != 2 || weight.Dim(0) != OutFeatures || weight.Dim(1) != InFeatures)
            throw new ArgumentException($"The new weight of an Nf4Linear [{OutFeatures}, {InFeatures}] must be F32 [{OutFeatures}, {InFeatures}]; got {weight.Describe()}.", nameof(weight));
        using (Tensor.NoGrad())
        {
            var source = Weight.OriginalDType == DType.F32 ? weight.Detach() : weight.To(Weight.OriginalDType);
            Weight = Nf4Quantizer.Quantize(source, Weight.QuantType, Weight.BlockSize, Weight.IsDoubleQuantized);
        }
    }

    /// <summary>The 4-bit weight as a GEMM operand that is decoded while packing.</summary>
    public IPackableWeight? PackableWeight => Weight;

    /// <inheritdoc/>
    protected override IEnumerable<KeyValuePair<string, Tensor>> ExtraStateTensors() => Bnb4BitSerializer.ToTensors(WeightKey, Weight);

    /// <inheritdoc/>
    protected override bool IsExtraStateKey(string key) =>
        key == WeightKey || key.StartsWith(WeightKey + ".", StringComparison.Ordinal);

    /// <inheritdoc/>
    protected override Action PrepareExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        var weight = Bnb4BitSerializer.FromTensors(WeightKey, state);
        int[] shape = weight.Shape;
        if (shape.Length != 2 || shape[0] != OutFeatures || shape[1] != InFeatures)
            throw new ArgumentException($"State tensor '{WeightKey}': {weight.Describe()} does not match the layer's [{OutFeatures}, {InFeatures}].");
        return () => Weight = weight;
    }

    private const string WeightKey = "weight";
}
