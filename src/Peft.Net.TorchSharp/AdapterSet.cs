using Peft.Net.Lora;

namespace Peft.Net.TorchSharp;

/// <summary>The bookkeeping every LoRA module shares: adapters in order with their options, the active and merged lists.</summary>
internal sealed class AdapterSet
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, LoraAdapterOptions> _options = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Names => _names;

    public List<string> Active { get; } = [];

    public List<string> Merged { get; } = [];

    public bool Contains(string name) => _options.ContainsKey(name);

    public LoraAdapterOptions this[string name] =>
        _options.TryGetValue(name, out var options) ? options : throw new ArgumentException($"This layer has no adapter named '{name}'.", nameof(name));

    /// <summary>Validates and records a new adapter; returns true when it is the first (and so becomes active).</summary>
    public bool Add(string name, LoraAdapterOptions options)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid adapter name: it must be non-empty and contain no '.'.", nameof(name));
        if (_options.ContainsKey(name))
            throw new ArgumentException($"This layer already has an adapter named '{name}'.", nameof(name));
        options.Validate(name);
        _names.Add(name);
        _options[name] = options;
        if (Active.Count == 0 && _names.Count == 1) { Active.Add(name); return true; }
        return false;
    }

    public void SetActive(string[] names)
    {
        foreach (var name in names)
            if (!Contains(name)) throw new ArgumentException($"This layer has no adapter named '{name}'.", nameof(names));
        Active.Clear();
        Active.AddRange(names.Distinct());
    }

    public void Remove(string name)
    {
        if (!Contains(name)) throw new ArgumentException($"This layer has no adapter named '{name}'.", nameof(name));
        if (Merged.Contains(name)) throw new InvalidOperationException($"Adapter '{name}' is merged; unmerge it before deleting it.");
        _names.Remove(name);
        _options.Remove(name);
        if (Active.Remove(name) && Active.Count == 0 && _names.Count > 0) Active.Add(_names[0]);
    }
}
