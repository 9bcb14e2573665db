namespace Peft.Net.Core.Nn;

/// <summary>
/// RMS normalisation over the last dimension with a learned scale, exactly Hugging Face's <c>LlamaRMSNorm</c>:
/// <c>y = weight · x/√(mean(x²) + eps)</c>. The parameter "weight" [C] starts at ones. With a
/// <see cref="WeightOffset"/> of 1 it is Gemma's <c>GemmaRMSNorm</c> instead: <c>y = (1 + weight) · x/√(mean(x²) + eps)</c>
/// with "weight" starting at zeros (the offset is added in the forward pass, so the stored weight is the checkpoint's).
/// </summary>
public sealed class RmsNorm : Module
{
    /// <summary>Creates an RMS norm over <paramref name="dim"/> channels.</summary>
    /// <param name="dim">C: size of the normalised (last) dimension.</param>
    /// <param name="eps">Added to the mean square before the square root (<c>rms_norm_eps</c>).</param>
    public RmsNorm(int dim, float eps = 1e-6f)
        : this(dim, eps, 0f)
    {
    }

    /// <summary>Creates an RMS norm whose scale is <c>weightOffset + weight</c> (Gemma: offset 1, weight starting at zeros).</summary>
    /// <param name="dim">C: size of the normalised (last) dimension.</param>
    /// <param name="eps">Added to the mean square before the square root (<c>rms_norm_eps</c>).</param>
    /// <param name="weightOffset">0 (Llama: weight starts at ones) or 1 (Gemma: weight starts at zeros).</param>
    public RmsNorm(int dim, float eps, float weightOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        if (!float.IsFinite(weightOffset))
            throw new ArgumentOutOfRangeException(nameof(weightOffset), $"The weight offset must be finite; got {weightOffset}.");
        Dim = dim;
        Eps = eps;
        WeightOffset = weightOffset;
        RegisterParameter("weight", weightOffset == 0 ? Tensor.Ones(dim) : Tensor.Zeros(dim));
    }

    /// <summary>Added to the weight in the forward pass: 0 for Llama-style norms, 1 for Gemma's (1 + weight).</summary>
    public float WeightOffset { get; }

    /// <summary>C: size of the normalised dimension.</summary>
    public int Dim { get; }

    /// <summary>The epsilon added to the mean square.</summary>
    public float Eps { get; }

    /// <summary>The scale [C].</summary>
    public Tensor Weight => Parameter("weight")!;

    // x: (..., C) → (..., C)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.RmsNorm(input, Scale(), Eps);

    // residual, x: (..., C) → (..., C), (..., C)
    /// <summary>
    /// The decoder's "add the residual, then normalise" in one pass: returns <c>Sum = residual + x</c> (the next
    /// residual stream) and <c>Normed = RmsNorm(Sum)</c>. See <see cref="Ops.AddRmsNorm"/>.
    /// </summary>
    public (Tensor Sum, Tensor Normed) AddAndNorm(Tensor residual, Tensor x) => Ops.AddRmsNorm(residual, x, Scale(), Eps);

    /// <summary>The scale the kernel multiplies by: the weight, or <c>offset + weight</c> in float32 (recorded by autograd).</summary>
    private Tensor Scale() => WeightOffset == 0 ? Weight : Ops.AddScalar(Weight, WeightOffset);
}
