namespace Peft.Net.Lora;

/// <summary>
/// The bookkeeping every LoRA layer shares: adapter names in insertion order, their options, the active set and
/// the merged stack, with PEFT's rules for activation and deletion.
/// </summary>
internal sealed class AdapterBook
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, LoraAdapterOptions> _options = [];
    private readonly List<string> _active = [];
    private readonly List<string> _merged = [];

    public IReadOnlyList<string> Names => _names;

    public IReadOnlyList<string> Active => _active;

    public List<string> Merged => _merged;

    public LoraAdapterOptions this[string name] => _options[Check(name)];

    public bool Contains(string name) => _options.ContainsKey(name);

    public static void CheckNewName(string name, AdapterBook book)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new ArgumentException($"'{name}' is not a valid adapter name: it must be non-empty and contain no '.'.", nameof(name));
        if (book.Contains(name))
            throw new ArgumentException($"This layer already has an adapter named '{name}'.", nameof(name));
    }

    /// <summary>Records a new adapter; the first one becomes active.</summary>
    public void Add(string name, LoraAdapterOptions options)
    {
        _names.Add(name);
        _options[name] = options;
        if (_active.Count == 0 && _names.Count == 1) _active.Add(name);
    }

    public void SetActive(IEnumerable<string> names)
    {
        var list = names.ToList();
        foreach (var name in list) Check(name);
        _active.Clear();
        foreach (var name in list)
            if (!_active.Contains(name)) _active.Add(name);
    }

    /// <summary>Forgets an adapter; if it was the only active one the first remaining adapter becomes active (PEFT).</summary>
    public void Remove(string name)
    {
        Check(name);
        if (_merged.Contains(name))
            throw new InvalidOperationException($"Adapter '{name}' is merged into the base weight; call Unmerge() before deleting it.");
        _names.Remove(name);
        _options.Remove(name);
        if (_active.Remove(name) && _active.Count == 0 && _names.Count > 0)
            _active.Add(_names[0]);
    }

    /// <summary>The adapters to merge: the requested (default: active) ones this layer holds and has not merged yet.</summary>
    public List<string> ToMerge(IReadOnlyList<string>? requested) =>
        (requested ?? _active).Where(n => n is not null && Contains(n) && !_merged.Contains(n)).Distinct().ToList();

    public string Check(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_options.ContainsKey(name))
            throw new ArgumentException($"This LoRA layer has no adapter '{name}' (it has [{string.Join(", ", _names)}]).", nameof(name));
        return name;
    }
}
