using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Peft.Net.Core.Kernels.Simd;

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
        if (FloatVector512.IsHardwareAccelerated && n >= FloatVector512.Count) i = UpdateVectors<FloatVector512>(ref p, ref g, ref b, n, c);
        else if (FloatVector256.IsHardwareAccelerated && n >= FloatVector256.Count) i = UpdateVectors<FloatVector256>(ref p, ref g, ref b, n, c);
        for (; i < n; i++)
        {
            ref float bi = ref c.Mode == SgdMomentumMode.None ? ref Unsafe.NullRef<float>() : ref Unsafe.Add(ref b, i);
            UpdateElement(ref Unsafe.Add(ref p, i), Unsafe.Add(ref g, i), ref bi, c);
        }
    }

    // p, g: (N); b: (N), or unused when the mode is None → the index where the scalar tail starts
    /// <summary>The whole-vector part of <see cref="Update"/> at one width.</summary>
    private static int UpdateVectors<TVector>(ref float p, ref float g, ref float b, int n, in SgdCoefficients c)
        where TVector : struct, IFloatVector<TVector>
    {
        var wd = TVector.Create(c.WeightDecay);
        var momentum = TVector.Create(c.Momentum);
        var oneMinusDampening = TVector.Create(c.OneMinusDampening);
        var negLr = TVector.Create(c.NegativeLearningRate);
        int i = 0;
        for (; i <= n - TVector.Count; i += TVector.Count)
        {
            var pi = TVector.Load(ref Unsafe.Add(ref p, i));
            var d = TVector.Load(ref Unsafe.Add(ref g, i));
            if (c.HasWeightDecay) d = TVector.FusedMultiplyAdd(pi, wd, d);
            if (c.Mode != SgdMomentumMode.None)
            {
                var buffer = c.Mode == SgdMomentumMode.Initialize
                    ? d
                    : TVector.FusedMultiplyAdd(d, oneMinusDampening, TVector.Load(ref Unsafe.Add(ref b, i)) * momentum);
                TVector.Store(buffer, ref Unsafe.Add(ref b, i));
                d = c.Nesterov ? TVector.FusedMultiplyAdd(buffer, momentum, d) : buffer;
            }
            TVector.Store(TVector.FusedMultiplyAdd(d, negLr, pi), ref Unsafe.Add(ref p, i));
        }
        return i;
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
