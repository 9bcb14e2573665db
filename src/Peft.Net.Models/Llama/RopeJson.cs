using System.Text.Json;
using Peft.Net.Core.Nn;

namespace Peft.Net.Models;

/// <summary>
/// The rotary settings of a <c>config.json</c> in either format: v4 (top-level <c>rope_theta</c> and a
/// <c>rope_scaling</c> object or null) or v5 (one <c>rope_parameters</c> object holding θ and the scaling keys, nested
/// per layer type for Gemma 3).
/// </summary>
internal sealed record RopeJson(double? Theta, Llama3RopeScaling? Llama3, double? LinearFactor, IReadOnlyList<double>? ShortFactor,
    IReadOnlyList<double>? LongFactor, double? AttentionFactor, double? LocalTheta)
{
    /// <summary>Phi-3's longrope settings, when the file has them.</summary>
    public LongRopeScaling? LongRope(int originalMaxPositionEmbeddings) =>
        ShortFactor is null || LongFactor is null ? null : new(ShortFactor, LongFactor, originalMaxPositionEmbeddings, AttentionFactor);

    public static RopeJson Read(JsonElement root, string path, string modelType)
    {
        var top = new LlamaConfigJson.FieldReader(root, path);
        if (root.TryGetProperty("rope_parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object)
        {
            if (parameters.TryGetProperty(LlamaConfig.FullAttention, out var full))
            {
                // Gemma 3 (v5): {sliding_attention: {default, θ_local}, full_attention: {scaling…, θ_global}}.
                var global = Scaling(full, path, "rope_parameters.full_attention.", modelType);
                double? local = parameters.TryGetProperty(LlamaConfig.SlidingAttention, out var sliding) && sliding.ValueKind == JsonValueKind.Object
                    ? new LlamaConfigJson.FieldReader(sliding, path, "rope_parameters.sliding_attention.").Double("rope_theta")
                    : null;
                return global with { LocalTheta = local };
            }
            return Scaling(parameters, path, "rope_parameters.", modelType);
        }
        if (!root.TryGetProperty("rope_scaling", out var scaling) || scaling.ValueKind == JsonValueKind.Null)
            return new RopeJson(top.Double("rope_theta"), null, null, null, null, null, null);
        if (scaling.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: rope_scaling must be an object or null.");
        return Scaling(scaling, path, "rope_scaling.", modelType) with { Theta = top.Double("rope_theta") };
    }

    private static RopeJson Scaling(JsonElement scaling, string path, string prefix, string modelType)
    {
        if (scaling.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{path}: {prefix.TrimEnd('.')} must be an object.");
        var inner = new LlamaConfigJson.FieldReader(scaling, path, prefix);
        string type = inner.String("rope_type") ?? inner.String("type") ?? throw inner.Missing("rope_type");
        // Phi3Config renames the legacy "su" and "yarn" to longrope.
        if (modelType == "phi3" && type is "su" or "yarn") type = "longrope";
        var settings = new RopeJson(inner.Double("rope_theta"), null, null, null, null, null, null);
        return type switch
        {
            "default" => settings,
            "llama3" => settings with
            {
                Llama3 = new Llama3RopeScaling(
                    inner.Double("factor") ?? throw inner.Missing("factor"),
                    inner.Double("low_freq_factor") ?? throw inner.Missing("low_freq_factor"),
                    inner.Double("high_freq_factor") ?? throw inner.Missing("high_freq_factor"),
                    inner.Int("original_max_position_embeddings") ?? throw inner.Missing("original_max_position_embeddings")),
            },
            "linear" => settings with { LinearFactor = inner.Double("factor") ?? throw inner.Missing("factor") },
            "longrope" => settings with
            {
                ShortFactor = inner.DoubleList("short_factor") ?? throw inner.Missing("short_factor"),
                LongFactor = inner.DoubleList("long_factor") ?? throw inner.Missing("long_factor"),
                AttentionFactor = inner.Double("attention_factor"),
            },
            _ => throw new NotSupportedException(
                $"{path}: {prefix}rope_type '{type}' is not supported (Peft.Net implements 'default', 'llama3', 'linear' and, for phi3, 'longrope')."),
        };
    }
}
