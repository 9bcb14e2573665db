namespace Peft.Net.Core.Nn;

/// <summary>
/// Layer normalisation over the last dimension, like PyTorch's <c>nn.LayerNorm(dim, eps, elementwise_affine, bias)</c>:
/// parameters "weight" [C] (ones) and "bias" [C] (zeros) when affine.
/// </summary>
public sealed class LayerNorm : Module
{
    /// <summary>Creates a layer norm over <paramref name="dim"/> channels.</summary>
    /// <param name="dim">C: size of the normalised (last) dimension.</param>
    /// <param name="eps">Added to the variance before the square root.</param>
    /// <param name="elementwiseAffine">Whether to learn a scale (and a shift, see <paramref name="bias"/>).</param>
    /// <param name="bias">Whether the affine part has a shift; ignored without <paramref name="elementwiseAffine"/>.</param>
    public LayerNorm(int dim, float eps = 1e-5f, bool elementwiseAffine = true, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Dim = dim;
        Eps = eps;
        RegisterParameter("weight", elementwiseAffine ? Tensor.Ones(dim) : null);
        RegisterParameter("bias", elementwiseAffine && bias ? Tensor.Zeros(dim) : null);
    }

    /// <summary>C: size of the normalised dimension.</summary>
    public int Dim { get; }

    /// <summary>The epsilon added to the variance.</summary>
    public float Eps { get; }

    /// <summary>The scale [C], or null without elementwise affine.</summary>
    public Tensor? Weight => Parameter("weight");

    /// <summary>The shift [C], or null.</summary>
    public Tensor? Bias => Parameter("bias");

    // x: (..., C) → (..., C)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.LayerNorm(input, Weight, Bias, Eps);
}
