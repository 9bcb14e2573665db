namespace Peft.Net.Core.Nn;

/// <summary>GELU activation (PyTorch's <c>nn.GELU</c>), exact or with the tanh approximation.</summary>
public sealed class GELU : Module
{
    /// <summary>Creates a GELU with PyTorch's <c>approximate</c> argument.</summary>
    /// <param name="approximate"><c>"none"</c> (exact, x·Φ(x)) or <c>"tanh"</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="approximate"/> is neither.</exception>
    public GELU(string approximate = "none")
        : this(approximate switch
        {
            "none" => GeluApproximation.None,
            "tanh" => GeluApproximation.Tanh,
            _ => throw new ArgumentException($"GELU approximate must be \"none\" or \"tanh\"; got \"{approximate}\".", nameof(approximate)),
        })
    {
    }

    /// <summary>Creates a GELU with the given formula.</summary>
    public GELU(GeluApproximation approximation) => Approximation = approximation;

    /// <summary>The formula in use.</summary>
    public GeluApproximation Approximation { get; }

    // x: any shape → same shape
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Gelu(input, Approximation);
}
