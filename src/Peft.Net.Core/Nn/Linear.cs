using Peft.Net.Core.Kernels;

namespace Peft.Net.Core.Nn;

/// <summary>
/// <c>y = x·Wᵀ + b</c> with weight [out, in] and optional bias [out], initialised like PyTorch's
/// <c>nn.Linear</c> (weight kaiming-uniform with a = √5, bias uniform ±1/√in).
/// </summary>
public sealed class Linear : Module, ILinearLayer
{
    /// <summary>Creates a linear layer.</summary>
    /// <param name="inFeatures">K: input features.</param>
    /// <param name="outFeatures">N: output features.</param>
    /// <param name="bias">Whether the layer has a bias.</param>
    /// <param name="random">Generator for the initial weights (a fixed seed 0 when null).</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, TensorRandom? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        random ??= new TensorRandom(0);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        RegisterParameter("weight", Tensor.KaimingUniform([outFeatures, inFeatures], random));
        float bound = 1f / MathF.Sqrt(inFeatures);
        RegisterParameter("bias", bias ? Tensor.Uniform([outFeatures], -bound, bound, random) : null);
    }

    /// <summary>
    /// Wraps existing tensors without copying or random initialisation (loading a checkpoint): weight [out, in]
    /// (F32 trainable, F16/BF16 frozen) and optional bias [out].
    /// </summary>
    /// <exception cref="ArgumentException">The weight is not a 2-D floating tensor or the bias is not [out].</exception>
    public Linear(Tensor weight, Tensor? bias)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || !weight.DType.IsFloatingPoint())
            throw new ArgumentException($"A Linear weight must be a 2-D floating tensor [out, in]; got {weight.Describe()}.", nameof(weight));
        if (bias is not null && (bias.Rank != 1 || bias.Dim(0) != weight.Dim(0)))
            throw new ArgumentException($"The bias {bias.Describe()} must be [{weight.Dim(0)}] for the weight {weight.Describe()}.", nameof(bias));
        OutFeatures = weight.Dim(0);
        InFeatures = weight.Dim(1);
        RegisterParameter("weight", weight);
        RegisterParameter("bias", bias);
    }

    /// <summary>K: input features.</summary>
    public int InFeatures { get; }

    /// <summary>N: output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight [out, in] (F32 trainable, or F16/BF16 frozen after <see cref="Module.ReplaceParameter"/>).</summary>
    public Tensor Weight => Parameter("weight")!;

    /// <summary>The bias [out], or null.</summary>
    public Tensor? Bias => Parameter("bias");

    // x: (..., K) → (..., N)
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Ops.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    public Tensor GetDenseWeight()
    {
        var weight = Weight;
        var dense = Tensor.Zeros(OutFeatures, InFeatures);
        weight.ReadAsFloat(dense.AsSpan());
        return dense;
    }

    /// <inheritdoc/>
    public void SetDenseWeight(Tensor weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.DType != DType.F32 || weight.Rank != 2 || weight.Dim(0) != OutFeatures || weight.Dim(1) != InFeatures)
            throw new ArgumentException(
                $"Linear.SetDenseWeight: {weight.Describe()} must be F32 [{OutFeatures}, {InFeatures}].", nameof(weight));
        var target = Weight;
        var source = weight.To(target.DType);
        Array.Copy(source.Storage, source.Offset, target.Storage, target.Offset, target.Count);
    }

    /// <inheritdoc/>
    public IPackableWeight? PackableWeight => Weight.DType == DType.F32 ? null : new TensorWeight(Weight);
}
