using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Quantization;

// The 4-bit weight in the module's state dict, in bitsandbytes' key layout (Linear4bit's _save_to_state_dict):
// weight (packed U8 [ceil(n/2), 1]), weight.absmax, weight.quant_map, weight.nested_absmax, weight.nested_quant_map,
// weight.quant_state.bitsandbytes__nf4 (see Bnb4BitSerializer). Safetensors.Save(path, model.StateDict()) thus writes
// a file bitsandbytes loads, and LoadStateDict rebuilds the weight from such parts (any quant type, blocksize or
// double quantization; the shape must be [out, in]).
public sealed partial class Nf4Linear
{
    private const string WeightKey = "weight";

    /// <summary>The 4-bit weight's parts under <c>weight</c>, <c>weight.absmax</c>, … (bitsandbytes' layout).</summary>
    protected override IEnumerable<KeyValuePair<string, Tensor>> ExtraStateTensors() => Bnb4BitSerializer.ToTensors(WeightKey, Weight);

    /// <summary><c>weight</c> and every <c>weight.…</c> key.</summary>
    protected override bool IsExtraStateKey(string key) =>
        key == WeightKey || key.StartsWith(WeightKey + ".", StringComparison.Ordinal);

    /// <summary>
    /// Rebuilds the 4-bit weight from its parts (the shape must be [out, in]), or quantizes a dense F32/F16/BF16
    /// <c>weight</c> [out, in] given alone with this layer's current quant type, blocksize and double quantization
    /// (loading a full-precision checkpoint into a model already converted by <c>QuantizeNf4</c>).
    /// </summary>
    protected override Action PrepareExtraState(IReadOnlyDictionary<string, Tensor> state)
    {
        if (state.Count == 1 && state.TryGetValue(WeightKey, out var dense) && dense.DType.IsFloatingPoint())
        {
            if (dense.Rank != 2 || dense.Dim(0) != OutFeatures || dense.Dim(1) != InFeatures)
                throw new ArgumentException($"State tensor '{WeightKey}': {dense.Describe()} does not match the layer's [{OutFeatures}, {InFeatures}].");
            var current = Weight;
            QuantizedTensor quantized;
            using (Tensor.NoGrad())
                quantized = Nf4Quantizer.Quantize(dense.Detach(), current.QuantType, current.BlockSize, current.IsDoubleQuantized);
            return () => Weight = quantized;
        }
        var weight = Bnb4BitSerializer.FromTensors(WeightKey, state);
        int[] shape = weight.Shape;
        if (shape.Length != 2 || shape[0] != OutFeatures || shape[1] != InFeatures)
            throw new ArgumentException($"State tensor '{WeightKey}': {weight.Describe()} does not match the layer's [{OutFeatures}, {InFeatures}].");
        return () => Weight = weight;
    }
}
