using System.Text.Json;
using System.Text.Json.Nodes;
using Peft.Net.Adapters;

namespace Peft.Net.Lora;

/// <summary>Reads and writes <see cref="LoraConfig"/> as PEFT's <c>adapter_config.json</c> (§4.2 of the reference).</summary>
internal static class LoraConfigJson
{
    /// <summary>Fields read into typed properties; every other field goes to <see cref="LoraConfig.ExtraFields"/>.</summary>
    private static readonly HashSet<string> Modelled =
    [
        "peft_type", "task_type", "base_model_name_or_path", "revision", "inference_mode", "r", "lora_alpha", "lora_dropout",
        "target_modules", "exclude_modules", "fan_in_fan_out", "bias", "use_rslora", "modules_to_save", "init_lora_weights",
        "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern", "use_dora", "lora_bias",
    ];

    public static LoraConfig Parse(string json, string source)
    {
        try
        {
            return ParseCore(json, source);
        }
        catch (InvalidOperationException e) when (e.TargetSite?.DeclaringType?.Assembly == typeof(JsonNode).Assembly)
        {
            // A string escape that is not valid UTF-16 (an unpaired surrogate such as "\ud800") fails only when read.
            throw new AdapterFormatException(source, $"holds a string that is not valid Unicode ({e.Message})", e);
        }
    }

    private static LoraConfig ParseCore(string json, string source)
    {
        JsonNode? root;
        try
        {
            // Duplicate keys are rejected while parsing: JsonObject would otherwise throw ArgumentException when first read.
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new AdapterFormatException(source, $"not valid JSON: {e.Message}", e);
        }
        if (root is not JsonObject obj)
            throw new AdapterFormatException(source, $"expected a JSON object, found {Kind(root)}");
        var reader = new FieldReader(obj, source);
        if (!obj.ContainsKey("peft_type"))
            throw new AdapterFormatException(source, "required field 'peft_type' is missing (expected \"LORA\")");
        var (targetList, targetRegex) = reader.StringListOrString("target_modules");
        var (excludeList, excludeRegex) = reader.StringListOrString("exclude_modules");
        var (patternList, patternString) = reader.StringListOrString("layers_pattern");
        var extra = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
            if (!Modelled.Contains(key))
                extra[key] = value?.DeepClone();
        var config = new LoraConfig
        {
            PeftType = reader.String("peft_type") ?? throw new AdapterFormatException(source, "field 'peft_type' must be a string such as \"LORA\", found null"),
            TaskType = reader.String("task_type"),
            BaseModelNameOrPath = reader.String("base_model_name_or_path"),
            Revision = reader.String("revision"),
            InferenceMode = reader.Bool("inference_mode", false),
            R = reader.Int("r", 8),
            LoraAlpha = reader.Double("lora_alpha", 8),
            LoraDropout = reader.Double("lora_dropout", 0),
            TargetModules = targetList,
            TargetModulesRegex = targetRegex,
            ExcludeModules = excludeList,
            ExcludeModulesRegex = excludeRegex,
            FanInFanOut = reader.Bool("fan_in_fan_out", false),
            Bias = reader.String("bias") ?? "none",
            UseRsLora = reader.Bool("use_rslora", false),
            ModulesToSave = reader.StringListOrString("modules_to_save") is var (saveList, saveOne) && saveOne is not null ? [saveOne] : saveList,
            InitLoraWeights = reader.BoolOrString("init_lora_weights", "true"),
            LayersToTransform = reader.IntListOrInt("layers_to_transform"),
            LayersPattern = patternString is not null ? [patternString] : patternList,
            RankPattern = reader.Map("rank_pattern", (v, k) => reader.IntValue(v, $"rank_pattern.{k}")),
            AlphaPattern = reader.Map("alpha_pattern", (v, k) => reader.DoubleValue(v, $"alpha_pattern.{k}")),
            UseDora = reader.Bool("use_dora", false),
            LoraBias = reader.Bool("lora_bias", false),
            ExtraFields = extra,
        };
        if (config.FindProblem() is { } problem)
            throw new AdapterFormatException(source, problem);
        return config;
    }

    public static string Write(LoraConfig config)
    {
        var obj = new JsonObject
        {
            ["alpha_pattern"] = MapNode(config.AlphaPattern, NumberNode),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = config.BaseModelNameOrPath,
            ["bias"] = config.Bias,
            ["fan_in_fan_out"] = config.FanInFanOut,
            ["inference_mode"] = true,
            ["init_lora_weights"] = config.InitLoraWeights switch
            {
                "true" => JsonValue.Create(true),
                "false" => JsonValue.Create(false),
                var name => JsonValue.Create(name),
            },
            ["layer_replication"] = null,
            ["layers_pattern"] = config.LayersPattern is { Count: 1 } one ? JsonValue.Create(one[0]) : StringList(config.LayersPattern),
            ["layers_to_transform"] = config.LayersToTransform is null ? null : new JsonArray(config.LayersToTransform.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray()),
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = NumberNode(config.LoraAlpha),
            ["lora_dropout"] = JsonValue.Create(config.LoraDropout),
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = StringList(config.ModulesToSave),
            ["peft_type"] = config.PeftType,
            ["r"] = config.R,
            ["rank_pattern"] = MapNode(config.RankPattern, v => JsonValue.Create(v)),
            ["revision"] = config.Revision,
            ["target_modules"] = config.TargetModulesRegex is not null ? JsonValue.Create(config.TargetModulesRegex) : StringList(config.TargetModules),
            ["task_type"] = config.TaskType,
            ["use_dora"] = config.UseDora,
            ["use_rslora"] = config.UseRsLora,
        };
        // Fields newer than PEFT 0.10 only when they are in use, so PEFT 0.10–0.13 load the file (see PeftConfigFields).
        if (config.LoraBias)
            obj["lora_bias"] = true;
        if (config.ExcludeModules is not null || config.ExcludeModulesRegex is not null)
            obj["exclude_modules"] = config.ExcludeModulesRegex is not null ? JsonValue.Create(config.ExcludeModulesRegex) : StringList(config.ExcludeModules);
        foreach (var (key, value) in config.ExtraFields)
        {
            if (PeftConfigFields.Omit(key, value)) obj.Remove(key);
            else obj[key] = value?.DeepClone();
        }
        return PythonJson.Serialize(obj);
    }

    /// <summary>An integral alpha is written as a Python int (PEFT's <c>lora_alpha: int</c>), anything else as a float.</summary>
    private static JsonNode NumberNode(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);

    private static JsonObject MapNode<T>(IReadOnlyDictionary<string, T> map, Func<T, JsonNode> node)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in map) obj[key] = node(value);
        return obj;
    }

    private static JsonArray? StringList(IReadOnlyList<string>? list) =>
        list is null ? null : new JsonArray(list.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

    private static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => $"the string \"{v.GetValue<string>()}\"",
            JsonValueKind.Number => $"the number {v.ToJsonString()}",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            var k => k.ToString(),
        },
        _ => node.GetType().Name,
    };

    /// <summary>Typed access to the fields of the config object; every failure names the file and the field.</summary>
    private sealed class FieldReader(JsonObject obj, string source)
    {
        private AdapterFormatException Wrong(string field, string expected, JsonNode? found) =>
            new(source, $"field '{field}' must be {expected}, found {Kind(found)}");

        private JsonNode? Get(string field, out bool present)
        {
            present = obj.TryGetPropertyValue(field, out var node);
            return node;
        }

        public string? String(string field)
        {
            var node = Get(field, out _);
            if (node is null) return null;
            return node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Wrong(field, "a string or null", node);
        }

        public bool Bool(string field, bool fallback)
        {
            var node = Get(field, out bool present);
            if (!present) return fallback;
            return node is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? v.GetValue<bool>() : throw Wrong(field, "true or false", node);
        }

        public int Int(string field, int fallback)
        {
            var node = Get(field, out bool present);
            return present ? IntValue(node, field) : fallback;
        }

        public double Double(string field, double fallback)
        {
            var node = Get(field, out bool present);
            return present ? DoubleValue(node, field) : fallback;
        }

        public int IntValue(JsonNode? node, string field) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue(out int i)
                ? i
                : throw Wrong(field, "an integer", node);

        public double DoubleValue(JsonNode? node, string field) =>
            node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : throw Wrong(field, "a number", node);

        public string BoolOrString(string field, string fallback)
        {
            var node = Get(field, out bool present);
            if (!present) return fallback;
            return node is JsonValue v
                ? v.GetValueKind() switch
                {
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.String => v.GetValue<string>(),
                    _ => throw Wrong(field, "true, false or a method name such as \"gaussian\"", node),
                }
                : throw Wrong(field, "true, false or a method name such as \"gaussian\"", node);
        }

        public (IReadOnlyList<string>? List, string? One) StringListOrString(string field)
        {
            var node = Get(field, out _);
            switch (node)
            {
                case null:
                    return (null, null);
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    return (null, v.GetValue<string>());
                case JsonArray array:
                    var list = new List<string>(array.Count);
                    foreach (var item in array)
                        list.Add(item is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : throw Wrong(field, "a list of strings", item));
                    return (list, null);
                default:
                    throw Wrong(field, "a list of strings, a string or null", node);
            }
        }

        public IReadOnlyList<int>? IntListOrInt(string field)
        {
            var node = Get(field, out _);
            return node switch
            {
                null => null,
                JsonArray array => array.Select(item => IntValue(item, field)).ToList(),
                _ => [IntValue(node, field)],
            };
        }

        public IReadOnlyDictionary<string, T> Map<T>(string field, Func<JsonNode?, string, T> value)
        {
            var map = new OrderedDictionary<string, T>(StringComparer.Ordinal);
            var node = Get(field, out _);
            if (node is null) return map;
            if (node is not JsonObject entries) throw Wrong(field, "an object", node);
            foreach (var (key, item) in entries) map[key] = value(item, key);
            return map;
        }
    }
}
