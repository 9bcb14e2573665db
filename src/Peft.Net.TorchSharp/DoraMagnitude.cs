using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// DoRA's magnitude vector m [out] (PEFT's <c>DoraLinearLayer</c>), registered as parameter <c>weight</c> so the
/// state-dict key is PEFT's <c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>.
/// </summary>
public sealed class DoraMagnitude : nn.Module
{
    /// <summary>Creates the vector from its initial values (the row norms of the adapted weight).</summary>
    public DoraMagnitude(Tensor initial) : base(nameof(DoraMagnitude))
    {
        weight = new Parameter(initial.detach().clone(), requires_grad: true);
        register_parameter("weight", weight);
    }

    /// <summary>m [out].</summary>
#pragma warning disable IDE1006 // PyTorch's name
    public Parameter weight { get; }
#pragma warning restore IDE1006

    /// <inheritdoc/>
    protected override void RegisterComponents() { }
}
