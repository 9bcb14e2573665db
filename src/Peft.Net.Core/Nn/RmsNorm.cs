namespace Peft.Net.Core.Nn;

/// <summary>
/// RMS normalisation over the last dimension with a learned scale, exactly Hugging Face's <c>LlamaRMSNorm</c>:
/// <c>y = weight · x/√(mean(x²) + eps)</c>. The parameter "weight" [C] starts at ones.
/// </summary>
public sealed class RmsNorm : Module
{
    /// <summary>Creates an RMS norm over <paramref name="dim"/> channels.</summary>
    /// <param name="dim">C: size of the normalised (last) dimension.</param>
    /// <param name="eps">Added to the mean square before the square root (<c>rms_norm_eps</c>).</param>
    public RmsNorm(int dim, float eps = 1e-6f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Dim = dim;
        Eps = eps;
        RegisterParameter("weight", Tensor.Ones(dim));
    }

    /// <summary>C: size of the normalised dimension.</summary>
    public int Dim { get; }

    /// <summary>The epsilon added to the mean square.</summary>
    public float Eps { get; }

    /// <summary>The scale [C].</summary>
    public Tensor Weight => Parameter("weight")!;

    // x: (..., C) → (..., C)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.RmsNorm(input, Weight, Eps);

    // residual, x: (..., C) → (..., C), (..., C)
    /// <summary>
    /// The decoder's "add the residual, then normalise" in one pass: returns <c>Sum = residual + x</c> (the next
    /// residual stream) and <c>Normed = RmsNorm(Sum)</c>. See <see cref="Ops.AddRmsNorm"/>.
    /// </summary>
    public (Tensor Sum, Tensor Normed) AddAndNorm(Tensor residual, Tensor x) => Ops.AddRmsNorm(residual, x, Weight, Eps);
}
