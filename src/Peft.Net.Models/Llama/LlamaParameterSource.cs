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
/// model afterwards. Then the weights are drawn into one reused float32 scratch buffer (the largest layer's size) and the
/// embeddings and head are drawn straight into <paramref name="unquantizedDType"/> (the same values as drawing them in
/// float32 and converting), so building a large 4-bit model never holds more than one float32 layer.
/// </summary>
internal sealed class RandomLlamaParameters(TensorRandom random, int vocabSize = 0, FourBitQuantization? quantization = null,
    DType unquantizedDType = DType.F32) : LlamaParameterSource
{
    private float[] _scratch = [];

    public override Module Linear(string name, int inFeatures, int outFeatures, bool bias)
    {
        if (quantization is null)
            return new Linear(inFeatures, outFeatures, bias, random);
        bool quantize = !(name == "lm_head" || outFeatures == vocabSize || quantization.Skips(name));
        if (!quantize && unquantizedDType == DType.F32)
            return new Linear(inFeatures, outFeatures, bias, random);
        // nn.Linear's init in the order Linear(in, out, bias, random) draws it: the weight (Kaiming uniform), then the bias.
        float bound = 1f / MathF.Sqrt(inFeatures), kaimingBound = Tensor.KaimingUniformBound(inFeatures);
        Tensor weight;
        if (quantize)
        {
            int count = outFeatures * inFeatures;
            if (_scratch.Length < count) _scratch = new float[count];
            Tensor.FillUniform(_scratch.AsSpan(0, count), -kaimingBound, kaimingBound, random);
            weight = new Tensor(_scratch, 0, [outFeatures, inFeatures], DType.F32); // valid until the next layer is drawn
        }
        else weight = Draw([outFeatures, inFeatures], chunk => Tensor.FillUniform(chunk, -kaimingBound, kaimingBound, random));
        var biasTensor = bias ? Tensor.Uniform([outFeatures], -bound, bound, random) : null;
        if (!quantize) return new Linear(weight, biasTensor);
        QuantizedTensor fourBit;
        using (Tensor.NoGrad())
            fourBit = Nf4Quantizer.Quantize(weight, quantization.QuantType, quantization.BlockSize, quantization.DoubleQuant);
        if (biasTensor is not null) biasTensor.RequiresGrad = true; // trainable, as the bias a Linear registers
        return new Nf4Linear(fourBit, biasTensor);
    }

    public override Embedding Embedding(string name, int count, int dim) =>
        quantization is null || unquantizedDType == DType.F32
            ? new(count, dim, random)
            : new(Draw([count, dim], chunk => Tensor.FillNormal(chunk, 0f, 1f, random)));

    public override RmsNorm RmsNorm(string name, int dim, float eps, float weightOffset = 0f) => new(dim, eps, weightOffset);

    /// <summary>
    /// A new <paramref name="shape"/> tensor of <c>unquantizedDType</c> whose values <paramref name="fill"/> draws in
    /// float32, a chunk at a time through the scratch buffer, in element order (so equal to drawing it whole and
    /// converting with <see cref="Tensor.To"/>).
    /// </summary>
    private Tensor Draw(int[] shape, Action<Span<float>> fill)
    {
        const int Chunk = 1 << 20;
        var result = Tensor.Empty(unquantizedDType, shape);
        if (_scratch.Length < Math.Min(Chunk, result.Count)) _scratch = new float[Math.Min(Chunk, result.Count)];
        for (int start = 0; start < result.Count; start += Chunk)
        {
            var chunk = _scratch.AsSpan(0, Math.Min(Chunk, result.Count - start));
            fill(chunk);
            result.WriteFromFloat(start, chunk);
        }
        return result;
    }
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
