using System.Text.Json;
using System.Text.Json.Nodes;

namespace Peft.Net.Lora;

/// <summary>
/// Which <c>adapter_config.json</c> fields each PEFT release accepts. PEFT 0.10–0.13 build <c>LoraConfig(**json)</c>
/// and refuse any field they do not know (<c>TypeError: __init__() got an unexpected keyword argument</c>); newer
/// releases drop unknown fields with a warning. So the writer always writes the fields PEFT 0.10.0 knows, and a
/// field added later only when it holds a value other than its default: a file that uses no newer feature loads in
/// every PEFT from 0.10 on, and one that does is refused by the releases that could not apply it.
/// </summary>
internal static class PeftConfigFields
{
    /// <summary>The fields of PEFT 0.10.0's <c>PeftConfig</c> + <c>LoraConfig</c> (written always).</summary>
    public static readonly IReadOnlySet<string> SincePeft010 = new HashSet<string>(StringComparer.Ordinal)
    {
        "peft_type", "auto_mapping", "base_model_name_or_path", "revision", "task_type", "inference_mode",
        "r", "target_modules", "lora_alpha", "lora_dropout", "fan_in_fan_out", "bias", "use_rslora", "modules_to_save",
        "init_lora_weights", "layers_to_transform", "layers_pattern", "rank_pattern", "alpha_pattern",
        "megatron_config", "megatron_core", "loftq_config", "use_dora", "layer_replication",
    };

    /// <summary>
    /// Fields added after PEFT 0.10 with the value that means "not used" (besides null, false, {} and [], which always
    /// do for them): written only when they hold something else.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, JsonNode?> NewerDefaults = new Dictionary<string, JsonNode?>(StringComparer.Ordinal)
    {
        ["exclude_modules"] = null,          // 0.14
        ["lora_bias"] = false,               // 0.14
        ["eva_config"] = null,               // 0.14
        ["corda_config"] = null,             // 0.15
        ["trainable_token_indices"] = null,  // 0.15
        ["target_parameters"] = null,        // 0.17
        ["use_qalora"] = false,
        ["qalora_group_size"] = 16,
        ["ensure_weight_tying"] = false,
        ["alora_invocation_tokens"] = null,
        ["arrow_config"] = null,
        ["lora_ga_config"] = null,
        ["velora_config"] = null,
        ["monteclora_config"] = null,
        ["use_bdlora"] = null,
        ["kasa_config"] = null,
    };

    /// <summary>
    /// Fields never written back: <c>peft_version</c> (the PEFT release that wrote a file, not true of a file Peft.Net
    /// writes, and refused by PEFT before 0.18) and <c>runtime_config</c> (PEFT drops it on save).
    /// </summary>
    private static readonly IReadOnlySet<string> Dropped = new HashSet<string>(StringComparer.Ordinal) { "peft_version", "runtime_config" };

    /// <summary>True when <paramref name="field"/> with <paramref name="value"/> is left out of the written file.</summary>
    public static bool Omit(string field, JsonNode? value)
    {
        if (Dropped.Contains(field)) return true;
        if (!NewerDefaults.TryGetValue(field, out var fallback)) return false;
        return value switch
        {
            null => true,
            JsonValue v when v.GetValueKind() == JsonValueKind.False => true,
            JsonObject { Count: 0 } or JsonArray { Count: 0 } => true,
            _ => fallback is not null && JsonNode.DeepEquals(value, fallback),
        };
    }
}
