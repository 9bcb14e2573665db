namespace Peft.Net.Core.Kernels;

/// <summary>
/// The float32 scalars of one AdamW update, rounded from the double-precision hyper-parameters exactly as
/// PyTorch 1.13 rounds a Python scalar passed to a float32 in-place op.
/// </summary>
/// <param name="Decay">1 − lr·weight_decay (decoupled weight decay factor).</param>
/// <param name="Beta1">β₁.</param>
/// <param name="OneMinusBeta1">1 − β₁ (computed in double, then rounded).</param>
/// <param name="Beta2">β₂.</param>
/// <param name="OneMinusBeta2">1 − β₂ (computed in double, then rounded).</param>
/// <param name="BiasCorrection2Sqrt">√(1 − β₂^step).</param>
/// <param name="Epsilon">ε.</param>
/// <param name="NegativeStepSize">−lr / (1 − β₁^step).</param>
internal readonly record struct AdamWCoefficients(
    float Decay, float Beta1, float OneMinusBeta1, float Beta2, float OneMinusBeta2,
    float BiasCorrection2Sqrt, float Epsilon, float NegativeStepSize)
{
    /// <summary>Rounds the double-precision step quantities to the float32 scalars the kernel uses.</summary>
    public static AdamWCoefficients For(double learningRate, double weightDecay, double beta1, double beta2, double epsilon, long step)
    {
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = learningRate / biasCorrection1;
        return new AdamWCoefficients(
            Decay: (float)(1 - learningRate * weightDecay),
            Beta1: (float)beta1,
            OneMinusBeta1: (float)(1 - beta1),
            Beta2: (float)beta2,
            OneMinusBeta2: (float)(1 - beta2),
            BiasCorrection2Sqrt: (float)Math.Sqrt(biasCorrection2),
            Epsilon: (float)epsilon,
            NegativeStepSize: (float)-stepSize);
    }
}
