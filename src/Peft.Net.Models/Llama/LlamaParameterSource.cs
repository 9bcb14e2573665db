using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Models;

/// <summary>
/// Where the layers of a Llama model get their parameters while it is built: fresh random values, or tensors read
/// from a checkpoint (wrapped as they are, with no random initialisation to throw away). Names are the full dotted
/// module paths, e.g. <c>model.layers.0.self_attn.q_proj</c>.
/// </summary>
internal abstract class LlamaParameterSource
{
    /// <summary>A linear layer: <see cref="Core.Nn.Linear"/>, or <see cref="Nf4Linear"/> for a 4-bit checkpoint weight.</summary>
    public abstract Module Linear(string name, int inFeatures, int outFeatures, bool bias);

    public abstract Embedding Embedding(string name, int count, int dim);

    /// <summary>An RMS norm; <paramref name="weightOffset"/> 1 makes it Gemma's (1 + weight).</summary>
    public abstract RmsNorm RmsNorm(string name, int dim, float eps, float weightOffset = 0f);

    /// <summary>Joins a module path and a child name.</summary>
    public static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}

/// <summary>
/// PyTorch's default initialisation (nn.Linear, nn.Embedding N(0, 1), norms at one: weight 1, or 0 with Gemma's offset).
/// With <paramref name="quantization"/> each linear layer but the head and the skipped ones is quantized to 4-bit as soon
/// as it is made, so no float32 copy of the whole model ever exists; the values equal those of quantizing the float32
/// model afterwards.
/// </summary>
internal sealed class RandomLlamaParameters(TensorRandom random, int vocabSize = 0, FourBitQuantization? quantization = null) : LlamaParameterSource
{
    public override Module Linear(string name, int inFeatures, int outFeatures, bool bias)
    {
        var linear = new Linear(inFeatures, outFeatures, bias, random);
        if (quantization is null || name == "lm_head" || outFeatures == vocabSize || quantization.Skips(name))
            return linear;
        return Nf4Linear.FromLinear(linear, quantization.QuantType, quantization.BlockSize, quantization.DoubleQuant);
    }

    public override Embedding Embedding(string name, int count, int dim) => new(count, dim, random);

    public override RmsNorm RmsNorm(string name, int dim, float eps, float weightOffset = 0f) => new(dim, eps, weightOffset);
}

/// <summary>
/// Checkpoint tensors by name (already checked against the config's shapes); weights stored in the bitsandbytes 4-bit
/// layout come from <paramref name="quantized"/> and stay 4-bit. With <paramref name="quantizeOnLoad"/> (layer path,
/// output features → 4-bit weight, or null to keep the layer) the other linear weights are quantized as they are read.
/// </summary>
internal sealed class LoadedLlamaParameters(Func<string, Tensor> read, IReadOnlyDictionary<string, QuantizedTensor> quantized,
    Func<string, int, QuantizedTensor?>? quantizeOnLoad = null)
    : LlamaParameterSource
{
    public override Module Linear(string name, int inFeatures, int outFeatures, bool bias)
    {
        var biasTensor = bias ? read(name + ".bias") : null;
        if (quantized.TryGetValue(name + ".weight", out var weight))
            return new Nf4Linear(weight, biasTensor);
        if (quantizeOnLoad?.Invoke(name, outFeatures) is { } fourBit)
        {
            // Trainable like the bias a Linear registers (what quantizing the loaded Linear would keep).
            if (biasTensor is not null) biasTensor.RequiresGrad = biasTensor.DType == DType.F32;
            return new Nf4Linear(fourBit, biasTensor);
        }
        return new Linear(read(name + ".weight"), biasTensor);
    }

    public override Embedding Embedding(string name, int count, int dim) => new(read(name + ".weight"));

    public override RmsNorm RmsNorm(string name, int dim, float eps, float weightOffset = 0f)
    {
        var norm = new RmsNorm(dim, eps, weightOffset);
        var weight = read(name + ".weight");
        weight.RequiresGrad = weight.DType == DType.F32; // trainable like every F32 parameter registered by a module
        norm.ReplaceParameter("weight", weight);
        return norm;
    }
}
