using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>Reads and writes <see cref="LlamaConfig"/> in Hugging Face's <c>config.json</c> layout.</summary>
internal static class LlamaConfigJson
{
    public static LlamaConfig Read(string path)
    {
        try
        {
            return ReadDocument(path);
        }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonDocument).Assembly)
        {
            // A string escape that is not valid UTF-16 (an unpaired surrogate such as "\ud800") fails only when read.
            throw new InvalidDataException($"{path}: holds a string that is not valid Unicode ({e.Message}).", e);
        }
    }

    private static LlamaConfig ReadDocument(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: the model config file does not exist.", path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message}).", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"{path}: the config must be a JSON object.");
            var reader = new FieldReader(root, path);
            string modelType = reader.String("model_type") ?? throw reader.Missing("model_type");
            if (modelType == "smollm") modelType = "llama";
            if (!LlamaConfig.SupportedModelTypes.Contains(modelType))
                throw new NotSupportedException(
                    $"{path}: model_type '{modelType}' is not supported; Peft.Net's Llama decoder loads {string.Join(", ", LlamaConfig.SupportedModelTypes)}.");
            bool attentionBias = reader.Bool("attention_bias") ?? false;
            bool isQwen2 = modelType == "qwen2";
            var config = new LlamaConfig
            {
                ModelType = modelType,
                HiddenSize = reader.RequiredInt("hidden_size"),
                IntermediateSize = reader.RequiredInt("intermediate_size"),
                NumHiddenLayers = reader.RequiredInt("num_hidden_layers"),
                NumAttentionHeads = reader.RequiredInt("num_attention_heads"),
                NumKeyValueHeads = reader.Int("num_key_value_heads"),
                HeadDim = reader.Int("head_dim"),
                VocabSize = reader.RequiredInt("vocab_size"),
                RmsNormEps = reader.Double("rms_norm_eps") ?? 1e-6,
                RopeTheta = reader.Double("rope_theta") ?? 10000,
                RopeScaling = ReadRopeScaling(reader, path),
                MaxPositionEmbeddings = reader.Int("max_position_embeddings") ?? 2048,
                TieWordEmbeddings = reader.Bool("tie_word_embeddings") ?? false, // LlamaConfig, Qwen2Config and MistralConfig default
                QkvBias = isQwen2 || attentionBias,
                OutputProjectionBias = !isQwen2 && attentionBias,
                MlpBias = reader.Bool("mlp_bias") ?? false,
                BosTokenId = reader.Int("bos_token_id"),
                EosTokenIds = reader.IntOrIntList("eos_token_id"),
                PadTokenId = reader.Int("pad_token_id"),
                TorchDType = ReadDType(reader.String("torch_dtype") ?? reader.String("dtype"), path),
                SlidingWindow = ReadSlidingWindow(reader, modelType),
            };
            try
            {
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
            return config;
        }
    }

    private static Llama3RopeScaling? ReadRopeScaling(FieldReader reader, string path)
    {
        if (!reader.Root.TryGetProperty("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null)
            return null;
        if (scaling.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: rope_scaling must be an object or null.");
        var inner = new FieldReader(scaling, path, "rope_scaling.");
        string type = inner.String("rope_type") ?? inner.String("type") ?? throw inner.Missing("rope_type");
        return type switch
        {
            "default" => null,
            "llama3" => new Llama3RopeScaling(
                inner.Double("factor") ?? throw inner.Missing("factor"),
                inner.Double("low_freq_factor") ?? throw inner.Missing("low_freq_factor"),
                inner.Double("high_freq_factor") ?? throw inner.Missing("high_freq_factor"),
                inner.Int("original_max_position_embeddings") ?? throw inner.Missing("original_max_position_embeddings")),
            _ => throw new NotSupportedException(
                $"{path}: rope_scaling type '{type}' is not supported (Peft.Net implements 'default' and 'llama3')."),
        };
    }

    private static int? ReadSlidingWindow(FieldReader reader, string modelType)
    {
        // Qwen2 configs carry a window that is off unless use_sliding_window is true.
        if (modelType == "qwen2" && reader.Bool("use_sliding_window") != true) return null;
        if (modelType == "llama") return null;
        return reader.Int("sliding_window");
    }

    private static DType? ReadDType(string? name, string path) => name switch
    {
        null => null,
        "float32" => DType.F32,
        "float16" => DType.F16,
        "bfloat16" => DType.BF16,
        _ => throw new InvalidDataException($"{path}: torch_dtype '{name}' is not one Peft.Net loads (float32, float16, bfloat16)."),
    };

    private static string DTypeName(DType dtype) => dtype switch
    {
        DType.F32 => "float32",
        DType.F16 => "float16",
        DType.BF16 => "bfloat16",
        _ => throw new ArgumentException($"torch_dtype cannot be {dtype}."),
    };

    public static void Write(LlamaConfig config, string path)
    {
        config.Validate();
        Peft.Net.Core.IO.AtomicFile.Write(path, stream =>
        {
            using var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteStartArray("architectures");
            json.WriteStringValue(config.ModelType switch { "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", _ => "LlamaForCausalLM" });
            json.WriteEndArray();
            json.WriteString("model_type", config.ModelType);
            json.WriteNumber("hidden_size", config.HiddenSize);
            json.WriteNumber("intermediate_size", config.IntermediateSize);
            json.WriteNumber("num_hidden_layers", config.NumHiddenLayers);
            json.WriteNumber("num_attention_heads", config.NumAttentionHeads);
            json.WriteNumber("num_key_value_heads", config.KeyValueHeads);
            json.WriteNumber("head_dim", config.ResolvedHeadDim);
            json.WriteNumber("vocab_size", config.VocabSize);
            json.WriteNumber("rms_norm_eps", config.RmsNormEps);
            json.WriteNumber("rope_theta", config.RopeTheta);
            if (config.RopeScaling is { } scaling)
            {
                json.WriteStartObject("rope_scaling");
                json.WriteString("rope_type", "llama3");
                json.WriteNumber("factor", scaling.Factor);
                json.WriteNumber("low_freq_factor", scaling.LowFreqFactor);
                json.WriteNumber("high_freq_factor", scaling.HighFreqFactor);
                json.WriteNumber("original_max_position_embeddings", scaling.OriginalMaxPositionEmbeddings);
                json.WriteEndObject();
            }
            else json.WriteNull("rope_scaling");
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            if (config.ModelType != "qwen2")
            {
                json.WriteBoolean("attention_bias", config.QkvBias);
                json.WriteBoolean("mlp_bias", config.MlpBias);
            }
            if (config.SlidingWindow is { } window)
            {
                if (config.ModelType == "qwen2") json.WriteBoolean("use_sliding_window", true);
                json.WriteNumber("sliding_window", window);
            }
            else if (config.ModelType == "qwen2") json.WriteBoolean("use_sliding_window", false);
            WriteOptionalId(json, "bos_token_id", config.BosTokenId);
            if (config.EosTokenIds.Count == 1) json.WriteNumber("eos_token_id", config.EosTokenIds[0]);
            else if (config.EosTokenIds.Count > 1)
            {
                json.WriteStartArray("eos_token_id");
                foreach (int id in config.EosTokenIds) json.WriteNumberValue(id);
                json.WriteEndArray();
            }
            WriteOptionalId(json, "pad_token_id", config.PadTokenId);
            if (config.TorchDType is { } dtype) json.WriteString("torch_dtype", DTypeName(dtype));
            json.WriteEndObject();
        });
    }

    private static void WriteOptionalId(Utf8JsonWriter json, string name, int? id)
    {
        if (id is { } value) json.WriteNumber(name, value);
    }

    /// <summary>Typed access to optional fields, with errors that name the file and the field.</summary>
    private sealed class FieldReader(JsonElement root, string path, string prefix = "")
    {
        public JsonElement Root { get; } = root;

        public InvalidDataException Missing(string name) => new($"{path}: missing required field '{prefix}{name}'.");

        private InvalidDataException Wrong(string name, string expected, JsonElement value) =>
            new($"{path}: field '{prefix}{name}' must be {expected}; got {value.GetRawText()}.");

        private bool TryGet(string name, out JsonElement value) =>
            Root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null;

        public int RequiredInt(string name) => Int(name) ?? throw Missing(name);

        public int? Int(string name)
        {
            if (!TryGet(name, out var value)) return null;
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result) ? result : throw Wrong(name, "an integer", value);
        }

        public double? Double(string name)
        {
            if (!TryGet(name, out var value)) return null;
            return value.ValueKind == JsonValueKind.Number ? value.GetDouble() : throw Wrong(name, "a number", value);
        }

        public bool? Bool(string name)
        {
            if (!TryGet(name, out var value)) return null;
            return value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Wrong(name, "true or false", value),
            };
        }

        public string? String(string name)
        {
            if (!TryGet(name, out var value)) return null;
            return value.ValueKind == JsonValueKind.String ? value.GetString() : throw Wrong(name, "a string", value);
        }

        public IReadOnlyList<int> IntOrIntList(string name)
        {
            if (!TryGet(name, out var value)) return [];
            if (value.ValueKind == JsonValueKind.Array)
                return value.EnumerateArray()
                    .Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) ? id : throw Wrong(name, "an integer or a list of integers", value))
                    .ToArray();
            return [Int(name)!.Value];
        }
    }
}
