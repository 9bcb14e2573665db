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
        using (var document = JsonFile.Parse(path))
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
            bool isGemma = modelType is "gemma2" or "gemma3_text";
            // Read in this order so that the first missing field reported is the same as before the families.
            int hidden = reader.RequiredInt("hidden_size"), intermediate = reader.RequiredInt("intermediate_size");
            int layers = reader.RequiredInt("num_hidden_layers"), heads = reader.RequiredInt("num_attention_heads");
            int? kvHeads = reader.Int("num_key_value_heads"), headDim = reader.Int("head_dim");
            int vocab = reader.RequiredInt("vocab_size");
            double eps = reader.Double("rms_norm_eps") ?? (modelType == "phi3" ? 1e-5 : 1e-6);
            var rope = RopeJson.Read(reader.Root, path, modelType);
            int maxPositions = reader.Int("max_position_embeddings") ?? 2048;
            var config = new LlamaConfig
            {
                ModelType = modelType,
                HiddenSize = hidden,
                IntermediateSize = intermediate,
                NumHiddenLayers = layers,
                NumAttentionHeads = heads,
                NumKeyValueHeads = kvHeads,
                HeadDim = headDim,
                VocabSize = vocab,
                RmsNormEps = eps,
                RopeTheta = rope.Theta ?? (modelType == "gemma3_text" ? 1_000_000 : 10000),
                RopeScaling = rope.Llama3,
                LinearRopeScalingFactor = rope.LinearFactor,
                LongRope = rope.LongRope(reader.Int("original_max_position_embeddings") ?? 4096), // Phi3Config default
                RopeLocalBaseFreq = modelType == "gemma3_text" ? rope.LocalTheta ?? reader.Double("rope_local_base_freq") ?? 10000 : null,
                PartialRotaryFactor = reader.Double("partial_rotary_factor") ?? 1,
                MaxPositionEmbeddings = maxPositions,
                // Gemma's configs tie by default; LlamaConfig, Qwen2Config, Qwen3Config, MistralConfig and Phi3Config do not.
                TieWordEmbeddings = reader.Bool("tie_word_embeddings") ?? isGemma,
                QkvBias = isQwen2 || attentionBias,
                OutputProjectionBias = !isQwen2 && attentionBias,
                MlpBias = reader.Bool("mlp_bias") ?? false,
                BosTokenId = reader.Int("bos_token_id"),
                EosTokenIds = reader.IntOrIntList("eos_token_id"),
                PadTokenId = reader.Int("pad_token_id"),
                TorchDType = ReadDType(reader.String("torch_dtype") ?? reader.String("dtype"), path),
                SlidingWindow = ReadSlidingWindow(reader, modelType),
                LayerTypes = ReadLayerTypes(reader, modelType, layers),
                HiddenActivation = (isGemma ? reader.String("hidden_activation") : null) ?? reader.String("hidden_act")
                                   ?? (isGemma ? "gelu_pytorch_tanh" : "silu"),
                QueryPreAttnScalar = isGemma ? reader.Double("query_pre_attn_scalar") ?? 256 : null,
                AttnLogitSoftcapping = modelType == "gemma2" ? ClassDefault(reader, "attn_logit_softcapping", 50.0)
                    : modelType == "gemma3_text" ? reader.Double("attn_logit_softcapping") : null,
                FinalLogitSoftcapping = modelType == "gemma2" ? ClassDefault(reader, "final_logit_softcapping", 30.0)
                    : modelType == "gemma3_text" ? reader.Double("final_logit_softcapping") : null,
            };
            try
            {
                config.Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
            catch (NotSupportedException e)
            {
                throw new NotSupportedException($"{path}: {e.Message}", e); // e.g. an activation Peft.Net does not implement
            }
            return config;
        }
    }

    private static int? ReadSlidingWindow(FieldReader reader, string modelType)
    {
        // Qwen2/Qwen3 configs carry a window that is off unless use_sliding_window is true.
        if (modelType is "qwen2" or "qwen3" && reader.Bool("use_sliding_window") != true) return null;
        if (modelType == "llama") return null;
        // Gemma's class default is 4096; Mistral's window and Phi-3's are whatever the file says (null: none).
        return modelType is "gemma2" or "gemma3_text" ? ClassDefault(reader, "sliding_window", 4096) : reader.Int("sliding_window");
    }

    /// <summary>
    /// The per-layer attention types: <c>layer_types</c> when the file has it, else each family's rule (Gemma 2:
    /// even layers slide; Gemma 3: all but every <c>sliding_window_pattern</c>-th; Qwen: layers from
    /// <c>max_window_layers</c> on); null for Mistral and Phi-3, whose window applies to every layer.
    /// </summary>
    private static IReadOnlyList<string>? ReadLayerTypes(FieldReader reader, string modelType, int layers)
    {
        if (reader.StringList("layer_types") is { } listed) return listed;
        return modelType switch
        {
            "gemma2" => LlamaConfig.Gemma2LayerTypes(layers),
            "gemma3_text" => LlamaConfig.Gemma3LayerTypes(layers, reader.Int("sliding_window_pattern") ?? 6),
            "qwen2" or "qwen3" when reader.Bool("use_sliding_window") == true =>
                Enumerable.Range(0, layers).Select(i => i >= (reader.Int("max_window_layers") ?? 28)
                    ? LlamaConfig.SlidingAttention : LlamaConfig.FullAttention).ToArray(),
            _ => null,
        };
    }

    /// <summary>A number whose class default applies when the key is absent (a null in the file means "none").</summary>
    private static double? ClassDefault(FieldReader reader, string name, double classDefault) =>
        reader.Root.TryGetProperty(name, out _) ? reader.Double(name) : classDefault;

    private static int? ClassDefault(FieldReader reader, string name, int classDefault) =>
        reader.Root.TryGetProperty(name, out _) ? reader.Int(name) : classDefault;

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
            json.WriteStringValue(config.ModelType switch
            {
                "qwen2" => "Qwen2ForCausalLM", "mistral" => "MistralForCausalLM", "qwen3" => "Qwen3ForCausalLM",
                "gemma2" => "Gemma2ForCausalLM", "gemma3_text" => "Gemma3ForCausalLM", "phi3" => "Phi3ForCausalLM", _ => "LlamaForCausalLM",
            });
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
            else if (config.LinearRopeScalingFactor is { } factor)
            {
                json.WriteStartObject("rope_scaling");
                json.WriteString("rope_type", "linear");
                json.WriteNumber("factor", factor);
                json.WriteEndObject();
            }
            else if (config.LongRope is { } longRope)
            {
                json.WriteStartObject("rope_scaling");
                json.WriteString("type", "longrope");
                WriteNumbers(json, "short_factor", longRope.ShortFactor);
                WriteNumbers(json, "long_factor", longRope.LongFactor);
                if (longRope.AttentionFactor is { } attentionFactor) json.WriteNumber("attention_factor", attentionFactor);
                json.WriteEndObject();
                json.WriteNumber("original_max_position_embeddings", longRope.OriginalMaxPositionEmbeddings);
            }
            else json.WriteNull("rope_scaling");
            FamilyJson.Write(json, config);
            json.WriteNumber("max_position_embeddings", config.MaxPositionEmbeddings);
            json.WriteBoolean("tie_word_embeddings", config.TieWordEmbeddings);
            if (config.ModelType != "qwen2")
            {
                json.WriteBoolean("attention_bias", config.QkvBias);
                json.WriteBoolean("mlp_bias", config.MlpBias);
            }
            bool qwen = config.ModelType is "qwen2" or "qwen3";
            if (config.SlidingWindow is { } window)
            {
                if (qwen) json.WriteBoolean("use_sliding_window", true);
                json.WriteNumber("sliding_window", window);
            }
            else if (qwen) json.WriteBoolean("use_sliding_window", false);
            else if (config.IsGemma) json.WriteNull("sliding_window"); // absent would mean Gemma's default of 4096
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

    private static void WriteNumbers(Utf8JsonWriter json, string name, IEnumerable<double> values)
    {
        json.WriteStartArray(name);
        foreach (double value in values) json.WriteNumberValue(value);
        json.WriteEndArray();
    }

    private static void WriteOptionalId(Utf8JsonWriter json, string name, int? id)
    {
        if (id is { } value) json.WriteNumber(name, value);
    }

    /// <summary>Typed access to optional fields, with errors that name the file and the field.</summary>
    internal sealed class FieldReader(JsonElement root, string path, string prefix = "")
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

        public IReadOnlyList<string>? StringList(string name)
        {
            if (!TryGet(name, out var value)) return null;
            if (value.ValueKind != JsonValueKind.Array) throw Wrong(name, "a list of strings", value);
            return value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(name, "a list of strings", value)).ToArray();
        }

        public IReadOnlyList<double>? DoubleList(string name)
        {
            if (!TryGet(name, out var value)) return null;
            if (value.ValueKind != JsonValueKind.Array) throw Wrong(name, "a list of numbers", value);
            return value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Wrong(name, "a list of numbers", value)).ToArray();
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
