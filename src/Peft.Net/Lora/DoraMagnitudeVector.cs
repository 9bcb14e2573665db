using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Lora;

/// <summary>
/// DoRA's trainable magnitude vector m [out] for one adapter, held as the parameter <c>weight</c> (PEFT's
/// <c>lora_magnitude_vector.&lt;adapter&gt;.weight</c>; saved to adapter files as <c>….lora_magnitude_vector</c>).
/// </summary>
public sealed class DoraMagnitudeVector : Module
{
    /// <summary>Wraps an initial magnitude [out] (an F32 vector; it becomes a trainable parameter).</summary>
    /// <exception cref="ArgumentException">The tensor is not an F32 vector.</exception>
    public DoraMagnitudeVector(Tensor magnitude)
    {
        ArgumentNullException.ThrowIfNull(magnitude);
        if (magnitude.Rank != 1 || magnitude.DType != DType.F32)
            throw new ArgumentException($"A DoRA magnitude must be an F32 vector [out]; got {magnitude.Describe()}.", nameof(magnitude));
        RegisterParameter("weight", magnitude);
    }

    /// <summary>The magnitude m [out].</summary>
    public Tensor Weight => Parameter("weight")!;
}
