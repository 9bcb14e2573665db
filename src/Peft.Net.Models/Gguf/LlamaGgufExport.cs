using Peft.Net.Core;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models.Gguf;

/// <summary><see cref="LlamaForCausalLM"/> → a GGUF v3 model file that llama.cpp loads.</summary>
internal static class LlamaGgufExport
{
    public static void Export(LlamaForCausalLM model, string path, GgufExportOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(options);
        var config = model.Config;
        string arch = LlamaGgufNames.Architecture(config);
        var state = model.StateDict();
        var expected = LlamaCheckpoint.ExpectedTensors(config);
        var extra = state.Keys.Where(k => !expected.ContainsKey(k) && k != "lm_head.weight").ToList();
        if (extra.Count > 0)
            throw new InvalidOperationException(
                $"GGUF export writes the plain {arch} architecture, but the model also holds [{string.Join(", ", extra.Take(10))}]: merge adapters (MergeAndUnload) and dequantize 4-bit layers first.");
        var missing = expected.Keys.Where(k => !state.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"GGUF export: the model lacks [{string.Join(", ", missing.Take(10))}] (quantized or replaced layers): merge adapters and dequantize first.");

        var writer = new GgufWriter();
        writer.Add("general.architecture", GgufValue.String(arch));
        writer.Add("general.name", GgufValue.String(options.Name ?? Path.GetFileNameWithoutExtension(path)));
        writer.Add("general.file_type", GgufValue.UInt32(options.TensorType switch
        {
            GgufTensorType.F32 => 0u, GgufTensorType.F16 => 1u, GgufTensorType.Q8_0 => 7u, _ => 32u,
        }));
        writer.Add("general.quantization_version", GgufValue.UInt32(2));
        WriteHyperParameters(writer, arch, config);
        GgufTokenizerWriter.Write(writer, options.TokenizerDirectory, config);

        foreach (var (name, shape) in expected)
        {
            string ggufName = LlamaGgufNames.ToGguf(name) ?? throw new InvalidOperationException($"No GGUF name for '{name}'.");
            var tensor = state[name];
            if (!tensor.Shape.SequenceEqual(shape) || !tensor.DType.IsFloatingPoint())
                throw new InvalidOperationException($"GGUF export: '{name}' is {tensor.Describe()}, the config needs a float tensor of [{string.Join(", ", shape)}].");
            int heads = LlamaGgufNames.PermutedHeads(name, config);
            writer.AddTensor(ggufName, shape, TypeFor(shape, options.TensorType), () =>
            {
                float[] values = tensor.ToArray();
                return heads > 0 ? QkPermutation.ToGguf(values, heads, shape.Length == 2 ? shape[1] : 1) : values;
            });
            if (name == "model.embed_tokens.weight" && config.RopeScaling is { } scaling && arch == "llama")
                writer.AddTensor("rope_freqs.weight", [config.ResolvedHeadDim / 2], GgmlType.F32, () => RopeFactors(config, scaling));
        }
        writer.Write(path);
    }

    /// <summary>1-D tensors (norms, biases) stay F32; Q8_0 needs rows that are a multiple of 32, else F16 (as the converter falls back).</summary>
    private static GgmlType TypeFor(int[] shape, GgufTensorType type) => shape.Length < 2 ? GgmlType.F32 : type switch
    {
        GgufTensorType.F32 => GgmlType.F32,
        GgufTensorType.F16 => GgmlType.F16,
        GgufTensorType.BF16 => GgmlType.BF16,
        _ => shape[^1] % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16,
    };

    internal static void WriteHyperParameters(GgufWriter writer, string arch, LlamaConfig config)
    {
        writer.Add($"{arch}.context_length", GgufValue.UInt32((uint)config.MaxPositionEmbeddings));
        writer.Add($"{arch}.embedding_length", GgufValue.UInt32((uint)config.HiddenSize));
        writer.Add($"{arch}.block_count", GgufValue.UInt32((uint)config.NumHiddenLayers));
        writer.Add($"{arch}.feed_forward_length", GgufValue.UInt32((uint)config.IntermediateSize));
        writer.Add($"{arch}.attention.head_count", GgufValue.UInt32((uint)config.NumAttentionHeads));
        writer.Add($"{arch}.attention.head_count_kv", GgufValue.UInt32((uint)config.KeyValueHeads));
        writer.Add($"{arch}.attention.layer_norm_rms_epsilon", GgufValue.Float32((float)config.RmsNormEps));
        writer.Add($"{arch}.rope.freq_base", GgufValue.Float32((float)config.RopeTheta));
        writer.Add($"{arch}.rope.dimension_count", GgufValue.UInt32((uint)config.ResolvedHeadDim));
        if (config.HeadDim is { } headDim && headDim * config.NumAttentionHeads != config.HiddenSize)
        {
            writer.Add($"{arch}.attention.key_length", GgufValue.UInt32((uint)headDim));
            writer.Add($"{arch}.attention.value_length", GgufValue.UInt32((uint)headDim));
        }
        writer.Add($"{arch}.vocab_size", GgufValue.UInt32((uint)config.VocabSize));
        if (config.RopeScaling is { } scaling)
        {
            // llama.cpp takes llama3 scaling from the rope_freqs tensor; these keys let Peft.Net rebuild the exact config.
            writer.Add(LlamaGgufImport.Llama3FactorKey, GgufValue.Float32((float)scaling.Factor));
            writer.Add(LlamaGgufImport.Llama3LowKey, GgufValue.Float32((float)scaling.LowFreqFactor));
            writer.Add(LlamaGgufImport.Llama3HighKey, GgufValue.Float32((float)scaling.HighFreqFactor));
            writer.Add(LlamaGgufImport.Llama3ContextKey, GgufValue.UInt32((uint)scaling.OriginalMaxPositionEmbeddings));
        }
    }

    /// <summary>The converter's rope_freqs for llama3 scaling: default inverse frequency ÷ scaled one, per frequency.</summary>
    internal static float[] RopeFactors(LlamaConfig config, Llama3RopeScaling scaling)
    {
        var plain = RotaryEmbedding.DefaultInverseFrequencies(config.ResolvedHeadDim, config.RopeTheta);
        var scaled = scaling.Apply(plain);
        var factors = new float[plain.Length];
        for (int i = 0; i < factors.Length; i++) factors[i] = plain[i] / scaled[i];
        return factors;
    }
}
