using System.Text.RegularExpressions;

namespace Peft.Net.Models.Gguf;

/// <summary>
/// Hugging Face ↔ llama.cpp tensor names of the Llama family (conversion/llama.py, constants.py), and which weights
/// llama.cpp's converter row-permutes for its adjacent-pair rotary embedding.
/// </summary>
internal static partial class LlamaGgufNames
{
    private static readonly (string Hf, string Gguf)[] LayerParts =
    [
        ("input_layernorm", "attn_norm"), ("self_attn.q_proj", "attn_q"), ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"), ("self_attn.o_proj", "attn_output"), ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"), ("mlp.up_proj", "ffn_up"), ("mlp.down_proj", "ffn_down"),
    ];

    /// <summary>The llama.cpp architecture name for a config's model type.</summary>
    public static string Architecture(LlamaConfig config) => config.ModelType switch
    {
        "llama" or "mistral" => "llama",
        "qwen2" => "qwen2",
        _ => throw new NotSupportedException($"model_type '{config.ModelType}' has no GGUF mapping (llama, mistral, qwen2 do)."),
    };

    /// <summary>True when llama.cpp rotates adjacent pairs (LLAMA_ROPE_TYPE_NORM), so q/k rows are permuted in the file.</summary>
    public static bool PermutesQk(string architecture) => architecture == "llama";

    /// <summary>The GGUF name of an HF parameter name (<c>model.layers.3.self_attn.q_proj.weight</c> → <c>blk.3.attn_q.weight</c>), or null.</summary>
    public static string? ToGguf(string hf)
    {
        switch (hf)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }
        var match = LayerName().Match(hf);
        if (!match.Success) return null;
        foreach (var (hfPart, ggufPart) in LayerParts)
            if (match.Groups[2].Value == hfPart)
                return $"blk.{match.Groups[1].Value}.{ggufPart}.{match.Groups[3].Value}";
        return null;
    }

    /// <summary>The GGUF module name (without .weight) of an HF module path, for LoRA tensors; null if none.</summary>
    public static string? ModuleToGguf(string hfModule) => ToGguf(hfModule + ".weight") is { } name ? name[..^".weight".Length] : null;

    /// <summary>Heads of the rows of a permuted q/k weight or bias: n_head for q_proj, n_head_kv for k_proj; 0 when not permuted.</summary>
    public static int PermutedHeads(string hf, LlamaConfig config)
    {
        if (!PermutesQk(Architecture(config))) return 0;
        if (hf.Contains(".self_attn.q_proj.", StringComparison.Ordinal)) return config.NumAttentionHeads;
        if (hf.Contains(".self_attn.k_proj.", StringComparison.Ordinal)) return config.KeyValueHeads;
        return 0;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex LayerName();
}
