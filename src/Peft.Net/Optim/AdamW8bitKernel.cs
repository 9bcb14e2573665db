using Peft.Net.Core.Kernels;
using Peft.Net.Quantization;

namespace Peft.Net.Optim;

/// <summary>The float32 scalars of one 8-bit AdamW step (bitsandbytes' <c>kOptimizerStatic8bit2StateBlockwise</c>).</summary>
/// <param name="Beta1">β₁.</param>
/// <param name="Beta2">β₂.</param>
/// <param name="OneMinusBeta1">1 − β₁.</param>
/// <param name="OneMinusBeta2">1 − β₂.</param>
/// <param name="StepSize">−lr·√(1 − β₂ᵗ) / (1 − β₁ᵗ).</param>
/// <param name="ScaledEpsilon">√(1 − β₂ᵗ)·ε.</param>
/// <param name="Decay">1 − lr·weight_decay.</param>
/// <param name="ApplyDecay">weight_decay &gt; 0.</param>
internal readonly record struct AdamW8bitCoefficients(
    float Beta1, float Beta2, float OneMinusBeta1, float OneMinusBeta2, float StepSize, float ScaledEpsilon, float Decay, bool ApplyDecay)
{
    /// <summary>Rounds the step's double-precision quantities to float32.</summary>
    public static AdamW8bitCoefficients For(double learningRate, double weightDecay, double beta1, double beta2, double epsilon, long step)
    {
        double c1 = 1 - Math.Pow(beta1, step);
        double c2 = Math.Sqrt(1 - Math.Pow(beta2, step));
        return new((float)beta1, (float)beta2, (float)(1 - beta1), (float)(1 - beta2), (float)(-learningRate * c2 / c1),
            (float)(c2 * epsilon), (float)(1 - learningRate * weightDecay), weightDecay > 0);
    }
}

/// <summary>
/// One AdamW step with both moments stored as 8-bit codes of bitsandbytes' dynamic maps, one float32 absmax per block of
/// 256 elements (optim-8bit.md §3–4, the CUDA kernel's order). For each element j of block b, in float32:
/// <code>
/// g finite:  s2 = qmap2[c2]·absmax2[b]·β₂ + (1−β₂)·(g·g);   s1 = qmap1[c1]·absmax1[b]·β₁ + (1−β₁)·g
/// g not:     s1 = s2 = 0 (moments reset; the parameter is left alone)
/// absmaxk[b] = max_j |sk|    (a partial last block also counts its padding: |qmap1[128]·absmax1·β₁|)
/// p = p + step_size·s1 / (√s2 + √(1−β₂ᵗ)·ε), then p = p·(1 − lr·wd) when wd &gt; 0   (decay after the step, as bnb)
/// c1 = Q_signed(s1 / absmax1[b]) with the sign fix;  c2 = Q_unsigned(s2 / absmax2[b])
/// </code>
/// Q is the CUDA bisection (<see cref="DynamicMap8.Quantize"/>): the nearest map entry, ties to the even index. The
/// sign fix moves c1 one step toward s1's sign when the code's sign differs (a small negative s1 that rounds to +0).
/// Blocks are independent, so they run in parallel with the same result for any thread count. Scalar code only.
/// </summary>
internal static class AdamW8bitKernel
{
    /// <summary>Elements per absmax block (bitsandbytes ≥ 0.44).</summary>
    public const int BlockSize = 256;

    /// <summary>Blocks of a parameter of <paramref name="count"/> elements.</summary>
    public static int BlockCount(int count) => (count + BlockSize - 1) / BlockSize;

    /// <summary>Blocks per parallel item: fixed, so the items depend on the parameter's size only.</summary>
    private const int BlocksPerItem = 64;

    [ThreadStatic] private static UpdateWork? t_update;

    // parameter, gradient, codes1, codes2: (N); absmax1, absmax2: (⌈N/256⌉)
    /// <summary>
    /// Updates the parameter, the codes and the absmax values in place, <see cref="BlocksPerItem"/> blocks an item on
    /// the engine's shared thread pool (<see cref="ParallelRunner"/>).
    /// </summary>
    public static unsafe void Update(Span<float> parameter, ReadOnlySpan<float> gradient, Span<byte> codes1, Span<byte> codes2,
        Span<float> absmax1, Span<float> absmax2, AdamW8bitCoefficients c)
    {
        int n = parameter.Length;
        if (gradient.Length != n || codes1.Length != n || codes2.Length != n || absmax1.Length != BlockCount(n) || absmax2.Length != BlockCount(n))
            throw new ArgumentException($"8-bit AdamW: expected {n} gradients and codes and {BlockCount(n)} absmax values.");
        int blocks = BlockCount(n);
        var work = t_update ??= new UpdateWork();
        fixed (float* p = parameter, g = gradient, a1 = absmax1, a2 = absmax2)
        fixed (byte* q1 = codes1, q2 = codes2)
        {
            work.Parameter = p;
            work.Gradient = g;
            work.Absmax1 = a1;
            work.Absmax2 = a2;
            work.Codes1 = q1;
            work.Codes2 = q2;
            work.Count = n;
            work.Coefficients = c;
            work.RunChunks(blocks, BlocksPerItem, minParallelChunks: 2);
        }
    }

    /// <summary>Block <paramref name="block"/> of <see cref="Update"/>.</summary>
    internal static void UpdateBlock(Span<float> parameter, ReadOnlySpan<float> gradient, Span<byte> codes1, Span<byte> codes2,
        ref float absmax1, ref float absmax2, int block, AdamW8bitCoefficients c)
    {
        var qmap1 = DynamicMap8.Values;
        var qmap2 = DynamicMap8.UnsignedValues;
        int start = block * BlockSize, end = Math.Min(parameter.Length, start + BlockSize);
        Span<float> s1 = stackalloc float[BlockSize];
        Span<float> s2 = stackalloc float[BlockSize];
        float m1 = end - start < BlockSize ? MathF.Abs(qmap1[128] * absmax1 * c.Beta1) : 0f;
        float m2 = 0f;
        for (int i = start; i < end; i++)
        {
            float g = gradient[i];
            int j = i - start;
            if (float.IsFinite(g))
            {
                s2[j] = qmap2[codes2[i]] * absmax2 * c.Beta2 + c.OneMinusBeta2 * (g * g);
                s1[j] = qmap1[codes1[i]] * absmax1 * c.Beta1 + c.OneMinusBeta1 * g;
            }
            else
            {
                s1[j] = 0f;
                s2[j] = 0f;
            }
            m1 = MathF.Max(m1, MathF.Abs(s1[j]));
            m2 = MathF.Max(m2, MathF.Abs(s2[j]));
        }
        absmax1 = m1;
        absmax2 = m2;
        for (int i = start; i < end; i++)
        {
            int j = i - start;
            if (float.IsFinite(gradient[i]))
            {
                float p = parameter[i] + c.StepSize * s1[j] / (MathF.Sqrt(s2[j]) + c.ScaledEpsilon);
                parameter[i] = c.ApplyDecay ? p * c.Decay : p;
            }
            byte code1 = DynamicMap8.Quantize(qmap1, s1[j] / m1);
            if (float.IsNegative(qmap1[code1]) != float.IsNegative(s1[j]))
                code1 = (byte)(s1[j] > 0 ? code1 + 1 : code1 - 1);
            codes1[i] = code1;
            codes2[i] = DynamicMap8.Quantize(qmap2, s2[j] / m2);
        }
    }

    /// <summary>Blocks [start, end) of <see cref="Update"/>; one instance per calling thread.</summary>
    private sealed unsafe class UpdateWork : ChunkedWork
    {
        public float* Parameter, Gradient, Absmax1, Absmax2;
        public byte* Codes1, Codes2;
        public int Count;
        public AdamW8bitCoefficients Coefficients;

        protected override void Run(int start, int end)
        {
            for (int b = start; b < end; b++)
                UpdateBlock(new Span<float>(Parameter, Count), new ReadOnlySpan<float>(Gradient, Count), new Span<byte>(Codes1, Count),
                    new Span<byte>(Codes2, Count), ref Absmax1[b], ref Absmax2[b], b, Coefficients);
        }
    }
}
