using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// A name → module dictionary that registers entries as they come and go (TorchSharp's <c>ModuleDict</c> registers only
/// what it holds when its parent first registers it, so adapters added later would be missing from
/// <c>state_dict()</c>). PEFT's <c>lora_A</c>, <c>lora_B</c>, <c>lora_dropout</c> and <c>lora_magnitude_vector</c>.
/// </summary>
internal sealed class AdapterModuleDict<T> : nn.Module where T : nn.Module
{
    private readonly Dictionary<string, T> _entries = new(StringComparer.Ordinal);

    public AdapterModuleDict() : base("ModuleDict")
    {
    }

    public T this[string name] => _entries[name];

    public bool TryGetValue(string name, out T module) => _entries.TryGetValue(name, out module!);

    public void Add(string name, T module)
    {
        _entries.Add(name, module);
        register_module(name, module);
    }

    public void Remove(string name)
    {
        if (_entries.Remove(name, out var module))
        {
            _internal_submodules.Remove(name);
            module.Dispose();
        }
    }

    protected override void RegisterComponents() { }
}

/// <summary>A name → parameter dictionary that registers entries as they come and go (PEFT's <c>lora_embedding_A/B</c>).</summary>
internal sealed class AdapterParameterDict : nn.Module
{
    private readonly Dictionary<string, global::TorchSharp.Modules.Parameter> _entries = new(StringComparer.Ordinal);

    public AdapterParameterDict() : base("ParameterDict")
    {
    }

    public global::TorchSharp.Modules.Parameter this[string name] => _entries[name];

    public void Add(string name, global::TorchSharp.Modules.Parameter parameter)
    {
        _entries.Add(name, parameter);
        register_parameter(name, parameter);
    }

    public void Remove(string name)
    {
        if (_entries.Remove(name, out var parameter))
        {
            _internal_params.Remove(name);
            parameter.Dispose();
        }
    }

    protected override void RegisterComponents() { }
}
