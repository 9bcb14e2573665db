namespace Peft.Net.Adapters;

/// <summary>The layer type an adapter module's tensors belong to.</summary>
public enum AdapterModuleKind
{
    /// <summary>A linear layer: <c>lora_A.weight</c> [R, in], <c>lora_B.weight</c> [out, R].</summary>
    Linear,

    /// <summary>An embedding: <c>lora_embedding_A</c> [R, V], <c>lora_embedding_B</c> [C, R].</summary>
    Embedding,
}

/// <summary>The file keys of one adapted module in <c>adapter_model.safetensors</c>.</summary>
/// <param name="ModulePath">The module's dotted path in the model, without <c>base_model.model.</c> (e.g. <c>model.layers.0.self_attn.q_proj</c>).</param>
/// <param name="Kind">Linear or embedding.</param>
/// <param name="KeyA">The key of A (<c>….lora_A.weight</c> or <c>….lora_embedding_A</c>).</param>
/// <param name="KeyB">The key of B (<c>….lora_B.weight</c> or <c>….lora_embedding_B</c>).</param>
/// <param name="MagnitudeKey">The DoRA magnitude key (<c>….lora_magnitude_vector</c>), or null.</param>
/// <param name="LoraBiasKey">The <c>lora_bias</c> key (<c>….lora_B.bias</c>), or null.</param>
public sealed record AdapterModuleWeights(string ModulePath, AdapterModuleKind Kind, string KeyA, string KeyB, string? MagnitudeKey, string? LoraBiasKey);

/// <summary>The tensors of an adapter file sorted by role.</summary>
/// <param name="Modules">Adapted modules, in first-key order.</param>
/// <param name="FullTensors">Whole tensors saved by the adapter (modules_to_save, saved embedding layers, bias modes): file key → the base checkpoint's tensor name (<c>base_layer.</c> removed).</param>
public sealed record AdapterFileLayout(IReadOnlyList<AdapterModuleWeights> Modules, IReadOnlyDictionary<string, string> FullTensors);
