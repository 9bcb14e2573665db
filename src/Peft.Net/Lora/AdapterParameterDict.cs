using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// A container of per-adapter parameters keyed by adapter name (PyTorch's <c>nn.ParameterDict</c>, used by PEFT's
/// embedding adapters), so parameters are named <c>lora_embedding_A.&lt;adapter&gt;</c>.
/// </summary>
internal sealed class AdapterParameterDict : Module
{
    private readonly List<string> _names = [];

    public IReadOnlyList<string> Names => _names;

    public void Add(string name, Tensor parameter)
    {
        RegisterParameter(name, parameter);
        _names.Add(name);
    }

    public Tensor Get(string name) => Parameter(name)!;

    /// <summary>A new container with every entry but <paramref name="name"/> (the tensors are shared, not copied).</summary>
    public AdapterParameterDict Without(string name)
    {
        var copy = new AdapterParameterDict();
        foreach (var key in _names)
            if (key != name)
            {
                var p = Get(key);
                bool trainable = p.RequiresGrad;
                copy.Add(key, p);
                p.RequiresGrad = trainable;
            }
        return copy;
    }
}
