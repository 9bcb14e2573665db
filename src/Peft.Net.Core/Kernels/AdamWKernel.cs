using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var decay = Vector512.Create(c.Decay);
            var beta1 = Vector512.Create(c.Beta1);
            var oneMinusBeta1 = Vector512.Create(c.OneMinusBeta1);
            var beta2 = Vector512.Create(c.Beta2);
            var oneMinusBeta2 = Vector512.Create(c.OneMinusBeta2);
            var bc2Sqrt = Vector512.Create(c.BiasCorrection2Sqrt);
            var eps = Vector512.Create(c.Epsilon);
            var negStep = Vector512.Create(c.NegativeStepSize);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint at = (nuint)i;
                var gi = Vector512.LoadUnsafe(ref g, at);
                var pi = Vector512.LoadUnsafe(ref p, at) * decay;
                var mi = Vector512.FusedMultiplyAdd(gi, oneMinusBeta1, Vector512.LoadUnsafe(ref m, at) * beta1);
                var vi = Vector512.FusedMultiplyAdd(oneMinusBeta2 * gi, gi, Vector512.LoadUnsafe(ref v, at) * beta2);
                var denom = Vector512.Sqrt(vi) / bc2Sqrt + eps;
                pi += negStep * mi / denom;
                mi.StoreUnsafe(ref m, at);
                vi.StoreUnsafe(ref v, at);
                pi.StoreUnsafe(ref p, at);
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var decay = Vector256.Create(c.Decay);
            var beta1 = Vector256.Create(c.Beta1);
            var oneMinusBeta1 = Vector256.Create(c.OneMinusBeta1);
            var beta2 = Vector256.Create(c.Beta2);
            var oneMinusBeta2 = Vector256.Create(c.OneMinusBeta2);
            var bc2Sqrt = Vector256.Create(c.BiasCorrection2Sqrt);
            var eps = Vector256.Create(c.Epsilon);
            var negStep = Vector256.Create(c.NegativeStepSize);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint at = (nuint)i;
                var gi = Vector256.LoadUnsafe(ref g, at);
                var pi = Vector256.LoadUnsafe(ref p, at) * decay;
                var mi = Vector256.FusedMultiplyAdd(gi, oneMinusBeta1, Vector256.LoadUnsafe(ref m, at) * beta1);
                var vi = Vector256.FusedMultiplyAdd(oneMinusBeta2 * gi, gi, Vector256.LoadUnsafe(ref v, at) * beta2);
                var denom = Vector256.Sqrt(vi) / bc2Sqrt + eps;
                pi += negStep * mi / denom;
                mi.StoreUnsafe(ref m, at);
                vi.StoreUnsafe(ref v, at);
                pi.StoreUnsafe(ref p, at);
            }
        }
        for (; i < n; i++)
            UpdateElement(ref Unsafe.Add(ref p, i), Unsafe.Add(ref g, i), ref Unsafe.Add(ref m, i), ref Unsafe.Add(ref v, i), c);
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
