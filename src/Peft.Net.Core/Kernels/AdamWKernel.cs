using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// One AdamW step on a flat parameter, bit-for-bit the float32 arithmetic of PyTorch 1.13's single-tensor
/// <c>torch.optim.AdamW</c> on an AVX2 CPU (checked against it element by element):
/// <code>
/// p  = p · decay
/// m  = fma(g, 1−β₁, m·β₁)                 // exp_avg.mul_(β₁).add_(g, alpha=1−β₁)
/// v  = fma((1−β₂)·g, g, v·β₂)             // exp_avg_sq.mul_(β₂).addcmul_(g, g, value=1−β₂)
/// p  = p + (−step_size · m) / (√v / √bc₂ + ε)   // param.addcdiv_(m, denom, value=−step_size)
/// </code>
/// The SIMD paths use the same fused multiply-adds as the scalar reference, so both give identical bits.
/// </summary>
internal static class AdamWKernel
{
    // parameter, gradient, firstMoment, secondMoment: (N)
    /// <summary>Updates <paramref name="parameter"/> and both moments in place (Vector512/Vector256 with a scalar tail).</summary>
    public static void Update(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> firstMoment, Span<float> secondMoment, in AdamWCoefficients c)
    {
        CheckLengths(parameter, gradient, firstMoment, secondMoment);
        int n = parameter.Length;
        ref float p = ref MemoryMarshal.GetReference(parameter);
        ref float g = ref MemoryMarshal.GetReference(gradient);
        ref float m = ref MemoryMarshal.GetReference(firstMoment);
        ref float v = ref MemoryMarshal.GetReference(secondMoment);
        int i = 0;
        if (FloatVector512.IsHardwareAccelerated && n >= FloatVector512.Count) i = UpdateVectors<FloatVector512>(ref p, ref g, ref m, ref v, n, c);
        else if (FloatVector256.IsHardwareAccelerated && n >= FloatVector256.Count) i = UpdateVectors<FloatVector256>(ref p, ref g, ref m, ref v, n, c);
        for (; i < n; i++)
            UpdateElement(ref Unsafe.Add(ref p, i), Unsafe.Add(ref g, i), ref Unsafe.Add(ref m, i), ref Unsafe.Add(ref v, i), c);
    }

    // p, g, m, v: (N) → the index where the scalar tail starts
    /// <summary>The whole-vector part of <see cref="Update"/> at one width.</summary>
    private static int UpdateVectors<TVector>(ref float p, ref float g, ref float m, ref float v, int n, in AdamWCoefficients c)
        where TVector : struct, IFloatVector<TVector>
    {
        var decay = TVector.Create(c.Decay);
        var beta1 = TVector.Create(c.Beta1);
        var oneMinusBeta1 = TVector.Create(c.OneMinusBeta1);
        var beta2 = TVector.Create(c.Beta2);
        var oneMinusBeta2 = TVector.Create(c.OneMinusBeta2);
        var bc2Sqrt = TVector.Create(c.BiasCorrection2Sqrt);
        var eps = TVector.Create(c.Epsilon);
        var negStep = TVector.Create(c.NegativeStepSize);
        int i = 0;
        for (; i <= n - TVector.Count; i += TVector.Count)
        {
            var gi = TVector.Load(ref Unsafe.Add(ref g, i));
            var pi = TVector.Load(ref Unsafe.Add(ref p, i)) * decay;
            var mi = TVector.FusedMultiplyAdd(gi, oneMinusBeta1, TVector.Load(ref Unsafe.Add(ref m, i)) * beta1);
            var vi = TVector.FusedMultiplyAdd(oneMinusBeta2 * gi, gi, TVector.Load(ref Unsafe.Add(ref v, i)) * beta2);
            var denom = TVector.Sqrt(vi) / bc2Sqrt + eps;
            pi += negStep * mi / denom;
            TVector.Store(mi, ref Unsafe.Add(ref m, i));
            TVector.Store(vi, ref Unsafe.Add(ref v, i));
            TVector.Store(pi, ref Unsafe.Add(ref p, i));
        }
        return i;
    }

    // parameter, gradient, firstMoment, secondMoment: (N)
    /// <summary>Scalar reference of <see cref="Update"/>: the specification, one element at a time.</summary>
    public static void UpdateReference(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> firstMoment, Span<float> secondMoment, in AdamWCoefficients c)
    {
        CheckLengths(parameter, gradient, firstMoment, secondMoment);
        for (int i = 0; i < parameter.Length; i++)
            UpdateElement(ref parameter[i], gradient[i], ref firstMoment[i], ref secondMoment[i], c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateElement(ref float p, float g, ref float m, ref float v, in AdamWCoefficients c)
    {
        float decayed = p * c.Decay;
        m = MathF.FusedMultiplyAdd(g, c.OneMinusBeta1, m * c.Beta1);
        v = MathF.FusedMultiplyAdd(c.OneMinusBeta2 * g, g, v * c.Beta2);
        float denom = MathF.Sqrt(v) / c.BiasCorrection2Sqrt + c.Epsilon;
        p = decayed + c.NegativeStepSize * m / denom;
    }

    private static void CheckLengths(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> firstMoment, Span<float> secondMoment)
    {
        if (gradient.Length != parameter.Length || firstMoment.Length != parameter.Length || secondMoment.Length != parameter.Length)
            throw new ArgumentException(
                $"AdamW lengths differ: parameter {parameter.Length}, gradient {gradient.Length}, moments {firstMoment.Length} and {secondMoment.Length}.");
    }
}
