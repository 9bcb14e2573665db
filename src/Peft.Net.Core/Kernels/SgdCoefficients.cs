namespace Peft.Net.Core.Kernels;

/// <summary>How an SGD step treats the momentum buffer.</summary>
internal enum SgdMomentumMode
{
    /// <summary>Momentum 0: no buffer, the step follows the (decayed) gradient.</summary>
    None,

    /// <summary>The first step with momentum: the buffer starts as a copy of the (decayed) gradient.</summary>
    Initialize,

    /// <summary>Later steps: buffer = momentum·buffer + (1 − dampening)·gradient.</summary>
    Accumulate,
}

/// <summary>
/// The float32 scalars of one SGD update, rounded from the double-precision hyper-parameters as PyTorch 1.13
/// rounds a Python scalar passed to a float32 in-place op.
/// </summary>
/// <param name="WeightDecay">L2 coefficient added to the gradient (skipped entirely when <paramref name="HasWeightDecay"/> is false, as in PyTorch).</param>
/// <param name="HasWeightDecay">Whether the weight decay is non-zero.</param>
/// <param name="Momentum">Momentum factor.</param>
/// <param name="OneMinusDampening">1 − dampening.</param>
/// <param name="NegativeLearningRate">−lr.</param>
/// <param name="Mode">How the momentum buffer is used.</param>
/// <param name="Nesterov">Nesterov momentum: step along gradient + momentum·buffer.</param>
internal readonly record struct SgdCoefficients(
    float WeightDecay, bool HasWeightDecay, float Momentum, float OneMinusDampening, float NegativeLearningRate,
    SgdMomentumMode Mode, bool Nesterov)
{
    /// <summary>Rounds the double-precision hyper-parameters to the float32 scalars the kernel uses.</summary>
    public static SgdCoefficients For(double learningRate, double weightDecay, double momentum, double dampening, bool nesterov, SgdMomentumMode mode) =>
        new((float)weightDecay, weightDecay != 0, (float)momentum, (float)(1 - dampening), (float)-learningRate, mode, nesterov);
}
