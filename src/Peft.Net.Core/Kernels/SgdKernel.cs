using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// One SGD step on a flat parameter, bit-for-bit the float32 arithmetic of PyTorch 1.13's single-tensor
/// <c>torch.optim.SGD</c> (its <c>add(x, alpha)</c> is a fused multiply-add):
/// <code>
/// d = fma(p, wd, g)                         // only when wd ≠ 0
/// b = d (first step) | fma(d, 1−dampening, b·momentum)
/// d = nesterov ? fma(b, momentum, d) : b    // only with momentum
/// p = fma(d, −lr, p)
/// </code>
/// The SIMD paths use the same fused multiply-adds as the scalar reference, so both give identical bits.
/// </summary>
internal static class SgdKernel
{
    // parameter, gradient: (N); momentumBuffer: (N), or empty when the mode is None
    /// <summary>Updates <paramref name="parameter"/> (and the momentum buffer) in place (Vector512/Vector256 with a scalar tail).</summary>
    public static void Update(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> momentumBuffer, in SgdCoefficients c)
    {
        CheckLengths(parameter, gradient, momentumBuffer, c.Mode);
        int n = parameter.Length;
        ref float p = ref MemoryMarshal.GetReference(parameter);
        ref float g = ref MemoryMarshal.GetReference(gradient);
        ref float b = ref MemoryMarshal.GetReference(momentumBuffer);
        int i = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            var wd = Vector512.Create(c.WeightDecay);
            var momentum = Vector512.Create(c.Momentum);
            var oneMinusDampening = Vector512.Create(c.OneMinusDampening);
            var negLr = Vector512.Create(c.NegativeLearningRate);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                nuint at = (nuint)i;
                var pi = Vector512.LoadUnsafe(ref p, at);
                var d = Vector512.LoadUnsafe(ref g, at);
                if (c.HasWeightDecay) d = Vector512.FusedMultiplyAdd(pi, wd, d);
                if (c.Mode != SgdMomentumMode.None)
                {
                    var buffer = c.Mode == SgdMomentumMode.Initialize
                        ? d
                        : Vector512.FusedMultiplyAdd(d, oneMinusDampening, Vector512.LoadUnsafe(ref b, at) * momentum);
                    buffer.StoreUnsafe(ref b, at);
                    d = c.Nesterov ? Vector512.FusedMultiplyAdd(buffer, momentum, d) : buffer;
                }
                Vector512.FusedMultiplyAdd(d, negLr, pi).StoreUnsafe(ref p, at);
            }
        }
        else if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            var wd = Vector256.Create(c.WeightDecay);
            var momentum = Vector256.Create(c.Momentum);
            var oneMinusDampening = Vector256.Create(c.OneMinusDampening);
            var negLr = Vector256.Create(c.NegativeLearningRate);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                nuint at = (nuint)i;
                var pi = Vector256.LoadUnsafe(ref p, at);
                var d = Vector256.LoadUnsafe(ref g, at);
                if (c.HasWeightDecay) d = Vector256.FusedMultiplyAdd(pi, wd, d);
                if (c.Mode != SgdMomentumMode.None)
                {
                    var buffer = c.Mode == SgdMomentumMode.Initialize
                        ? d
                        : Vector256.FusedMultiplyAdd(d, oneMinusDampening, Vector256.LoadUnsafe(ref b, at) * momentum);
                    buffer.StoreUnsafe(ref b, at);
                    d = c.Nesterov ? Vector256.FusedMultiplyAdd(buffer, momentum, d) : buffer;
                }
                Vector256.FusedMultiplyAdd(d, negLr, pi).StoreUnsafe(ref p, at);
            }
        }
        for (; i < n; i++)
        {
            ref float bi = ref c.Mode == SgdMomentumMode.None ? ref Unsafe.NullRef<float>() : ref Unsafe.Add(ref b, i);
            UpdateElement(ref Unsafe.Add(ref p, i), Unsafe.Add(ref g, i), ref bi, c);
        }
    }

    // parameter, gradient: (N); momentumBuffer: (N), or empty when the mode is None
    /// <summary>Scalar reference of <see cref="Update"/>: the specification, one element at a time.</summary>
    public static void UpdateReference(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> momentumBuffer, in SgdCoefficients c)
    {
        CheckLengths(parameter, gradient, momentumBuffer, c.Mode);
        for (int i = 0; i < parameter.Length; i++)
        {
            ref float bi = ref c.Mode == SgdMomentumMode.None ? ref Unsafe.NullRef<float>() : ref momentumBuffer[i];
            UpdateElement(ref parameter[i], gradient[i], ref bi, c);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UpdateElement(ref float p, float g, ref float b, in SgdCoefficients c)
    {
        float d = c.HasWeightDecay ? MathF.FusedMultiplyAdd(p, c.WeightDecay, g) : g;
        if (c.Mode != SgdMomentumMode.None)
        {
            b = c.Mode == SgdMomentumMode.Initialize ? d : MathF.FusedMultiplyAdd(d, c.OneMinusDampening, b * c.Momentum);
            d = c.Nesterov ? MathF.FusedMultiplyAdd(b, c.Momentum, d) : b;
        }
        p = MathF.FusedMultiplyAdd(d, c.NegativeLearningRate, p);
    }

    private static void CheckLengths(Span<float> parameter, ReadOnlySpan<float> gradient, Span<float> momentumBuffer, SgdMomentumMode mode)
    {
        if (gradient.Length != parameter.Length)
            throw new ArgumentException($"SGD lengths differ: parameter {parameter.Length}, gradient {gradient.Length}.");
        if (mode != SgdMomentumMode.None && momentumBuffer.Length != parameter.Length)
            throw new ArgumentException($"SGD momentum buffer has {momentumBuffer.Length} elements, the parameter {parameter.Length}.");
    }
}
