using System.Text.Json;

namespace Peft.Net.Models;

/// <summary>Writes the <c>config.json</c> keys of the families beyond Llama (Qwen3, Gemma 2/3, Phi-3).</summary>
internal static class FamilyJson
{
    public static void Write(Utf8JsonWriter json, LlamaConfig config)
    {
        json.WriteString(config.IsGemma ? "hidden_activation" : "hidden_act", config.HiddenActivation);
        if (config.PartialRotaryFactor != 1) json.WriteNumber("partial_rotary_factor", config.PartialRotaryFactor);
        if (config.RopeLocalBaseFreq is { } local) json.WriteNumber("rope_local_base_freq", local);
        if (config.LayerTypes is { } types)
        {
            json.WriteStartArray("layer_types");
            foreach (string type in types) json.WriteStringValue(type);
            json.WriteEndArray();
        }
        if (!config.IsGemma) return;
        json.WriteNumber("query_pre_attn_scalar", config.QueryPreAttnScalar ?? config.ResolvedHeadDim);
        // Null is written explicitly: an absent key would mean the class default (Gemma 2: 50 and 30).
        WriteNumberOrNull(json, "attn_logit_softcapping", config.AttnLogitSoftcapping);
        WriteNumberOrNull(json, "final_logit_softcapping", config.FinalLogitSoftcapping);
    }

    private static void WriteNumberOrNull(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}
