namespace Peft.Net.Adapters;

/// <summary>
/// PEFT's tensor key names (reference §4.3). In memory a LoRA parameter carries the adapter name
/// (<c>q_proj.lora_A.default.weight</c>, <c>embed_tokens.lora_embedding_A.default</c>,
/// <c>q_proj.lora_magnitude_vector.default.weight</c>, <c>score.modules_to_save.default.weight</c>); in the file the
/// adapter name (and the magnitude's <c>.weight</c>, and <c>modules_to_save.&lt;adapter&gt;</c>) is removed and
/// <c>base_model.model.</c> is prepended.
/// </summary>
public static class AdapterKeys
{
    private const string MagnitudeSegment = "lora_magnitude_vector";
    private const string ModulesToSaveSegment = "modules_to_save";

    /// <summary>
    /// The file key of the in-memory state-dict key <paramref name="modelKey"/> when it belongs to adapter
    /// <paramref name="adapterName"/> (a LoRA parameter or a modules_to_save copy), else null.
    /// </summary>
    public static string? ToFileKey(string modelKey, string adapterName)
    {
        var segments = modelKey.Split('.');
        for (int i = 0; i + 1 < segments.Length; i++)
        {
            if (segments[i + 1] != adapterName) continue;
            if (segments[i] == ModulesToSaveSegment)
                return AdapterFiles.KeyPrefix + string.Join('.', segments.Take(i).Concat(segments.Skip(i + 2)));
            if (!segments[i].StartsWith("lora_", StringComparison.Ordinal)) continue;
            var kept = segments.Take(i + 1).Concat(segments.Skip(i + 2)).ToList();
            if (segments[i] == MagnitudeSegment && kept[^1] == "weight" && kept.Count == i + 2)
                kept.RemoveAt(kept.Count - 1);
            return AdapterFiles.KeyPrefix + string.Join('.', kept);
        }
        return null;
    }

    /// <summary>
    /// The model state key that a non-LoRA tensor of an adapter file overwrites, or null: PEFT saves whole base tensors
    /// beside the adapter for <c>save_embedding_layers</c> (<c>….embed_tokens.base_layer.weight</c>,
    /// <c>….lm_head.base_layer.weight</c>) and for <c>bias: "all"/"lora_only"</c> (<c>….q_proj.base_layer.bias</c>, or
    /// <c>….q_proj.bias</c> from older releases), and loads them into the base. The key is tried as it is, with
    /// <c>base_layer.</c> inserted before its last segment (the module is wrapped here) and with it removed (it is not).
    /// </summary>
    /// <param name="fileKey">A key of <c>adapter_model.safetensors</c>.</param>
    /// <param name="modelHasKey">Whether the model's state dict has a key.</param>
    public static string? BaseTensorKey(string fileKey, Func<string, bool> modelHasKey)
    {
        if (!fileKey.StartsWith(AdapterFiles.KeyPrefix, StringComparison.Ordinal)) return null;
        string rest = fileKey[AdapterFiles.KeyPrefix.Length..];
        if (rest.Contains("lora_", StringComparison.Ordinal)) return null;
        int dot = rest.LastIndexOf('.');
        string? wrapped = dot > 0 ? rest[..dot] + ".base_layer" + rest[dot..] : null;
        string unwrapped = ToBaseCheckpointName(rest);
        foreach (var candidate in new[] { rest, wrapped, unwrapped })
            if (candidate is not null && modelHasKey(candidate)) return candidate;
        return null;
    }

    /// <summary>The name of a saved base tensor in the base checkpoint: <c>x.base_layer.weight</c> → <c>x.weight</c>.</summary>
    public static string ToBaseCheckpointName(string modelKey) => modelKey.Replace(".base_layer.", ".", StringComparison.Ordinal);

    /// <summary>
    /// Sorts the keys of an adapter file into adapted modules and whole tensors.
    /// </summary>
    /// <param name="fileKeys">The tensor names of <c>adapter_model.safetensors</c>.</param>
    /// <param name="source">The file, for error messages.</param>
    /// <exception cref="AdapterFormatException">A key lacks the <c>base_model.model.</c> prefix, or a module has A without B (or the reverse), or mixes linear and embedding keys.</exception>
    public static AdapterFileLayout Group(IEnumerable<string> fileKeys, string source)
    {
        var modules = new OrderedDictionary<string, Builder>(StringComparer.Ordinal);
        var full = new OrderedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in fileKeys)
        {
            if (!key.StartsWith(AdapterFiles.KeyPrefix, StringComparison.Ordinal))
                throw new AdapterFormatException(source, $"tensor '{key}' does not start with '{AdapterFiles.KeyPrefix}' (not a PEFT adapter key)");
            string rest = key[AdapterFiles.KeyPrefix.Length..];
            if (Split(rest, ".lora_A.weight") is { } a) Module(modules, a).SetA(key, AdapterModuleKind.Linear, source);
            else if (Split(rest, ".lora_B.weight") is { } b) Module(modules, b).SetB(key, AdapterModuleKind.Linear, source);
            else if (Split(rest, ".lora_embedding_A") is { } ea) Module(modules, ea).SetA(key, AdapterModuleKind.Embedding, source);
            else if (Split(rest, ".lora_embedding_B") is { } eb) Module(modules, eb).SetB(key, AdapterModuleKind.Embedding, source);
            else if (Split(rest, "." + MagnitudeSegment) is { } m) Module(modules, m).Magnitude = key;
            else if (Split(rest, ".lora_B.bias") is { } bias) Module(modules, bias).Bias = key;
            else if (rest.Contains("lora_", StringComparison.Ordinal))
                throw new AdapterFormatException(source, $"tensor '{key}' is not a LoRA key Peft.Net knows (lora_A.weight, lora_B.weight, lora_B.bias, lora_magnitude_vector, lora_embedding_A/B)");
            else full[key] = ToBaseCheckpointName(rest);
        }
        return new AdapterFileLayout(modules.Select(p => p.Value.Build(p.Key, source)).ToList(), full);
    }

    private static string? Split(string rest, string suffix) =>
        rest.Length > suffix.Length && rest.EndsWith(suffix, StringComparison.Ordinal) ? rest[..^suffix.Length] : null;

    private static Builder Module(OrderedDictionary<string, Builder> modules, string path)
    {
        if (!modules.TryGetValue(path, out var builder))
            modules.Add(path, builder = new Builder());
        return builder;
    }

    private sealed class Builder
    {
        private AdapterModuleKind? _kind;
        private string? _a, _b;
        public string? Magnitude { get; set; }
        public string? Bias { get; set; }

        public void SetA(string key, AdapterModuleKind kind, string source) { SetKind(kind, key, source); _a = key; }

        public void SetB(string key, AdapterModuleKind kind, string source) { SetKind(kind, key, source); _b = key; }

        private void SetKind(AdapterModuleKind kind, string key, string source)
        {
            if (_kind is { } k && k != kind)
                throw new AdapterFormatException(source, $"tensor '{key}' mixes linear (lora_A/lora_B) and embedding (lora_embedding_A/B) keys for one module");
            _kind = kind;
        }

        public AdapterModuleWeights Build(string path, string source)
        {
            if (_a is null || _b is null)
                throw new AdapterFormatException(source, $"module '{path}' has " +
                    (_a is null && _b is null ? "a magnitude or bias but neither A nor B" : _a is null ? $"'{_b}' but no matching A" : $"'{_a}' but no matching B"));
            return new AdapterModuleWeights(path, _kind!.Value, _a, _b, Magnitude, Bias);
        }
    }
}
