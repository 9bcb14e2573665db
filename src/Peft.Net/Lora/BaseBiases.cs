using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// The base biases that PEFT's <c>bias</c> mode of an adapter trains and saves beside its LoRA tensors:
/// <c>"all"</c> every bias of the model (model keys ending in <c>bias</c>: linear layers, LoRA-wrapped layers'
/// <c>….base_layer.bias</c>, norms), <c>"lora_only"</c> the <c>….base_layer.bias</c> of the layers that hold the adapter,
/// <c>"none"</c> nothing. Adapter parameters (<c>lora_B.bias</c>) and modules_to_save copies (<c>modules_to_save</c>,
/// <c>original_module</c>) are never base biases (PEFT saves the latter through the wrapper).
/// </summary>
/// <remarks>
/// Keys are PEFT's: for <c>"all"</c> its <c>"bias" in key</c> filter, for <c>"lora_only"</c> the wrapped layer's
/// <c>base_layer.bias</c>, which PEFT from its fix of issue #3306 saves (PEFT 0.19.1 and earlier train that bias but drop
/// it on save; their folders simply carry no bias, and load here as such).
/// </remarks>
internal static class BaseBiases
{
    /// <summary>The biases of mode <paramref name="bias"/> for adapter <paramref name="adapterName"/>, by model key.</summary>
    public static List<(string Key, Tensor Tensor)> Select(Module model, string bias, string adapterName)
    {
        if (bias == "none") return [];
        var all = model.NamedParameters().Where(p => IsBaseBias(p.Name)).ToList();
        if (bias == "all") return all;
        var owners = PeftModelExtensions.LoraLayers(model).Where(l => l.Layer.AdapterNames.Contains(adapterName))
            .Select(l => l.Path + ".base_layer.bias").ToHashSet(StringComparer.Ordinal);
        return all.Where(p => owners.Contains(p.Name)).ToList();
    }

    /// <summary>Whether a model key names a base bias (not an adapter parameter, not a modules_to_save copy).</summary>
    public static bool IsBaseBias(string key)
    {
        if (key != "bias" && !key.EndsWith(".bias", StringComparison.Ordinal)) return false;
        foreach (var segment in key.Split('.'))
            if (segment.StartsWith("lora_", StringComparison.Ordinal) || segment is "modules_to_save" or "original_module")
                return false;
        return true;
    }

    /// <summary>
    /// Makes trainable exactly the biases of the active adapter's mode (when it trains: not loaded for inference), and
    /// freezes every other base bias, once any adapter of the model has used a bias mode. Models whose adapters never
    /// used one keep their biases as the user set them.
    /// </summary>
    public static void Sync(Module model, PeftModelState state)
    {
        if (state.Configs.Values.Any(c => c.Bias != "none")) state.ManagesBiases = true;
        if (!state.ManagesBiases) return;
        var trainable = state.Active is { } active && state.Configs[active] is { InferenceMode: false } config
            ? Select(model, config.Bias, active).Select(b => b.Key).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var (key, tensor) in Select(model, "all", ""))
            tensor.RequiresGrad = trainable.Contains(key) && tensor.DType == DType.F32;
    }
}
