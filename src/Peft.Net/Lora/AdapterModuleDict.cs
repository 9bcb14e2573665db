using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// A container of per-adapter submodules keyed by adapter name (PyTorch's <c>nn.ModuleDict</c> inside PEFT's LoRA
/// layers), so parameters are named <c>lora_A.&lt;adapter&gt;.weight</c>. Removing an entry builds a new container
/// that the owner swaps in with <see cref="Module.ReplaceSubmodule"/>.
/// </summary>
internal sealed class AdapterModuleDict : Module
{
    private readonly List<string> _names = [];

    public IReadOnlyList<string> Names => _names;

    public bool Contains(string name) => _names.Contains(name);

    public void Add(string name, Module module)
    {
        RegisterModule(name, module);
        _names.Add(name);
    }

    public T Get<T>(string name) where T : class => Child<T>(name);

    /// <summary>A new container with every entry but <paramref name="name"/> (the modules are shared, not copied).</summary>
    public AdapterModuleDict Without(string name)
    {
        var copy = new AdapterModuleDict();
        foreach (var (key, module) in NamedChildren())
            if (key != name) copy.Add(key, module);
        return copy;
    }
}
