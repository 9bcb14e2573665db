using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Inverted dropout: a mask holding 0 (dropped) or 1/(1 − p) (kept) multiplies the input, so the expected value is
/// unchanged; the backward pass multiplies the gradient by the same mask.
/// </summary>
internal static class DropoutKernels
{
    // mask: (N)
    /// <summary>
    /// Fills <paramref name="mask"/> with 0 or 1/(1 − p). Element i is dropped when the i-th 32-bit draw is below
    /// p·2³² (two draws per 64-bit output of <paramref name="random"/>, low half first), so a seed fixes the mask.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">p is outside [0, 1).</exception>
    public static void FillMask(Span<float> mask, float p, TensorRandom random)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), $"A dropout mask needs 0 ≤ p < 1; got {p}.");
        uint threshold = (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);
        float scale = 1f / (1f - p);
        int i = 0;
        for (; i + 2 <= mask.Length; i += 2)
        {
            ulong bits = random.NextUInt64();
            mask[i] = (uint)bits < threshold ? 0f : scale;
            mask[i + 1] = (uint)(bits >> 32) < threshold ? 0f : scale;
        }
        if (i < mask.Length)
            mask[i] = (uint)random.NextUInt64() < threshold ? 0f : scale;
    }

    // x, mask, y: (N)
    /// <summary>y = x · mask.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> mask, Span<float> y) =>
        SimdLoop.Map(default(MultiplyOperator), x, mask, y);

    // g, mask, dx: (N)
    /// <summary>dx += g · mask.</summary>
    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> mask, Span<float> dx) =>
        SimdLoop.Accumulate(default(MultiplyOperator), g, mask, dx);

    /// <summary>Scalar reference of <see cref="Forward"/>.</summary>
    public static void ForwardReference(ReadOnlySpan<float> x, ReadOnlySpan<float> mask, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = x[i] * mask[i];
    }

    /// <summary>Scalar reference of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ReadOnlySpan<float> g, ReadOnlySpan<float> mask, Span<float> dx)
    {
        for (int i = 0; i < dx.Length; i++) dx[i] += g[i] * mask[i];
    }
}
