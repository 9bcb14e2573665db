using Peft.Net.Core;
using Peft.Net.Core.IO.Gguf;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Gguf;

/// <summary>A GGUF model file (llama or qwen2 architecture) → <see cref="LlamaForCausalLM"/>, q/k permutation undone.</summary>
internal static class LlamaGgufImport
{
    public const string Llama3FactorKey = "peft.rope.llama3.factor";
    public const string Llama3LowKey = "peft.rope.llama3.low_freq_factor";
    public const string Llama3HighKey = "peft.rope.llama3.high_freq_factor";
    public const string Llama3ContextKey = "peft.rope.llama3.original_context_length";

    public static LlamaForCausalLM Load(string path, DType? dtype)
    {
        if (dtype is { } requested && !requested.IsFloatingPoint())
            throw new ArgumentException($"A model can be loaded as F32, F16 or BF16, not {requested}.", nameof(dtype));
        using var file = GgufFile.Open(path);
        var config = ReadConfig(file);
        var expected = LlamaCheckpoint.ExpectedTensors(config);
        var consumed = new HashSet<string>(StringComparer.Ordinal) { "rope_freqs.weight" };
        foreach (var (name, shape) in expected)
        {
            string ggufName = LlamaGgufNames.ToGguf(name)!;
            consumed.Add(ggufName);
            if (!file.Contains(ggufName))
                throw new GgufFormatException(path, $"tensor '{ggufName}'", $"is missing (the {config.ModelType} model needs it for '{name}')");
            var info = file.Tensor(ggufName);
            if (!info.Shape.SequenceEqual(shape))
                throw new GgufFormatException(path, $"tensor '{ggufName}'", $"has shape [{string.Join(", ", info.Shape)}], the metadata needs [{string.Join(", ", shape)}]");
        }
        var unexpected = file.Tensors.Select(t => t.Name).Where(n => !consumed.Contains(n)).ToList();
        if (unexpected.Count > 0)
            throw new GgufFormatException(path, null, $"holds tensors the {config.ModelType} model does not use: {string.Join(", ", unexpected.Take(10))}");

        Tensor Read(string name)
        {
            string ggufName = LlamaGgufNames.ToGguf(name)!;
            var shape = expected[name];
            float[] values = file.ReadFloat32(ggufName);
            int heads = LlamaGgufNames.PermutedHeads(name, config);
            if (heads > 0) values = QkPermutation.ToHf(values, heads, shape.Length == 2 ? shape[1] : 1);
            var tensor = Tensor.FromArray(values, shape);
            return dtype is { } wanted && wanted != DType.F32 && shape.Length > 1 ? tensor.To(wanted) : tensor;
        }
        var model = new LlamaForCausalLM(config, new LoadedLlamaParameters(Read, new Dictionary<string, QuantizedTensor>()));
        if (file.Contains("rope_freqs.weight") && config.RopeScaling is null)
            UseFrequencyFactors(model, file, config);
        model.Eval();
        return model;
    }

    public static LlamaConfig ReadConfig(GgufFile file)
    {
        string arch = GgufMetadata.RequiredString(file, "general.architecture");
        if (GgufMetadata.Optional<string>(file, "general.type") is { } type && type != "model")
            throw new GgufFormatException(file.FilePath, "key 'general.type'", $"is '{type}'; a model file is expected (load adapters with their base model)");
        string modelType = arch switch
        {
            "llama" => "llama",
            "qwen2" => "qwen2",
            _ => throw new NotSupportedException($"{file.FilePath}: architecture '{arch}' is not supported; Peft.Net reads llama and qwen2 GGUF models."),
        };
        int Int(string key) => GgufMetadata.RequiredPositiveInt(file, $"{arch}.{key}");
        int hidden = Int("embedding_length"), heads = Int("attention.head_count");
        int kvHeads = (int?)GgufMetadata.OptionalUInt(file, $"{arch}.attention.head_count_kv") ?? heads;
        int? keyLength = (int?)GgufMetadata.OptionalUInt(file, $"{arch}.attention.key_length");
        if (!file.Contains("token_embd.weight"))
            throw new GgufFormatException(file.FilePath, "tensor 'token_embd.weight'", "is missing");
        var embedding = file.Tensor("token_embd.weight");
        if (embedding.Ne.Length != 2 || embedding.Ne[0] != hidden)
            throw new GgufFormatException(file.FilePath, "tensor 'token_embd.weight'", $"has ne [{string.Join(", ", embedding.Ne)}], expected [{hidden}, n_vocab]");
        if (GgufMetadata.Optional<string>(file, $"{arch}.rope.scaling.type") is { } scalingType && scalingType is not ("none" or "linear")
            || GgufMetadata.OptionalFloat(file, $"{arch}.rope.scaling.factor") is { } f && f is not (0 or 1))
            throw new NotSupportedException($"{file.FilePath}: rope scaling ({arch}.rope.scaling.*) is not supported by Peft.Net's Llama decoder.");
        Llama3RopeScaling? llama3 = GgufMetadata.OptionalFloat(file, Llama3FactorKey) is { } factor
            ? new Llama3RopeScaling(factor, GgufMetadata.OptionalFloat(file, Llama3LowKey) ?? 1, GgufMetadata.OptionalFloat(file, Llama3HighKey) ?? 4,
                (int)(GgufMetadata.OptionalUInt(file, Llama3ContextKey) ?? 8192))
            : null;
        var eos = new List<int>();
        foreach (var key in new[] { "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id" })
            if (GgufMetadata.OptionalUInt(file, key) is { } id && !eos.Contains((int)id)) eos.Add((int)id);
        var config = new LlamaConfig
        {
            ModelType = modelType,
            HiddenSize = hidden,
            IntermediateSize = Int("feed_forward_length"),
            NumHiddenLayers = Int("block_count"),
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = keyLength is { } k && k * heads != hidden ? k : null,
            VocabSize = (int)embedding.Ne[1],
            RmsNormEps = GgufMetadata.OptionalFloat(file, $"{arch}.attention.layer_norm_rms_epsilon")
                         ?? throw new GgufFormatException(file.FilePath, $"key '{arch}.attention.layer_norm_rms_epsilon'", "is missing"),
            RopeTheta = GgufMetadata.OptionalFloat(file, $"{arch}.rope.freq_base") ?? 10000,
            RopeScaling = llama3,
            MaxPositionEmbeddings = Int("context_length"),
            TieWordEmbeddings = !file.Contains("output.weight"),
            QkvBias = file.Contains("blk.0.attn_q.bias"),
            OutputProjectionBias = file.Contains("blk.0.attn_output.bias"),
            MlpBias = file.Contains("blk.0.ffn_up.bias"),
            BosTokenId = (int?)GgufMetadata.OptionalUInt(file, "tokenizer.ggml.bos_token_id"),
            EosTokenIds = eos,
            PadTokenId = (int?)GgufMetadata.OptionalUInt(file, "tokenizer.ggml.padding_token_id"),
            TorchDType = DType.F32,
        };
        if (GgufMetadata.OptionalUInt(file, $"{arch}.rope.dimension_count") is { } rot && rot != config.ResolvedHeadDim)
            throw new NotSupportedException($"{file.FilePath}: {arch}.rope.dimension_count is {rot} but the head size is {config.ResolvedHeadDim}; partial rotary embeddings are not supported.");
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new GgufFormatException(file.FilePath, null, $"the hyper-parameters are inconsistent: {e.Message}", e);
        }
        return config;
    }

    /// <summary>A rope_freqs tensor without Peft.Net's llama3 keys: the rotary tables take the default frequencies divided by it, as llama.cpp does.</summary>
    private static void UseFrequencyFactors(LlamaForCausalLM model, GgufFile file, LlamaConfig config)
    {
        var factors = file.ReadFloat32("rope_freqs.weight");
        var frequencies = RotaryEmbedding.DefaultInverseFrequencies(config.ResolvedHeadDim, config.RopeTheta);
        if (factors.Length != frequencies.Length)
            throw new GgufFormatException(file.FilePath, "tensor 'rope_freqs.weight'", $"has {factors.Length} values; the head size needs {frequencies.Length}");
        for (int i = 0; i < frequencies.Length; i++) frequencies[i] /= factors[i];
        model.Model.ReplaceSubmodule("rotary_emb", new RotaryEmbedding(frequencies, config.MaxPositionEmbeddings));
    }
}
