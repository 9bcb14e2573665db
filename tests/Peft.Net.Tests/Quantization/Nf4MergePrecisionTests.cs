using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Tests.Quantization;

/// <summary>
/// What merging a LoRA update into a 4-bit base costs: the merged weight W_q + ΔW has to be quantized again
/// (<see cref="Nf4Linear.SetDenseWeight"/>), so the merged layer differs from the float merge it replaces. Numbers are
/// printed for docs/qlora.md.
/// </summary>
public class Nf4MergePrecisionTests(ITestOutputHelper output)
{
    private const double Nf4HalfGap = (1.0 - 0.6961928009986877) / 2;

    [Theory]
    [InlineData(QuantType.Nf4, 64, true)]
    [InlineData(QuantType.Nf4, 64, false)]
    [InlineData(QuantType.Fp4, 64, true)]
    public void Requantizing_merge_error_is_within_one_quantization_step(QuantType type, int blockSize, bool doubleQuant)
    {
        const int n = 512, k = 1024, rank = 16;
        const float scaling = 32f / rank; // alpha 32
        var random = new TensorRandom(5);
        var linear = new Linear(k, n, bias: false, random);
        linear.ReplaceParameter("weight", Tensor.Normal([n, k], 0, 0.02f, random));
        var a = Tensor.Normal([rank, k], 0, 1f / MathF.Sqrt(k), random);
        var b = Tensor.Normal([n, rank], 0, 0.005f, random);
        float[] delta = Ops.MatMul(b, a).ToArray().Select(v => v * scaling).ToArray();

        var layer = Nf4Linear.FromLinear(linear, type, blockSize, doubleQuant);
        float[] dense = linear.Weight.ToArray(), baseQ = layer.GetDenseWeight().ToArray();
        var floatMerge = new float[dense.Length];      // what the QLoRA model computes: 4-bit base + float LoRA
        var denseMerge = new float[dense.Length];      // merging into the original float weight
        for (int i = 0; i < dense.Length; i++)
        {
            floatMerge[i] = baseQ[i] + delta[i];
            denseMerge[i] = dense[i] + delta[i];
        }
        layer.SetDenseWeight(Tensor.FromArray(floatMerge, n, k));
        float[] merged = layer.GetDenseWeight().ToArray();
        Assert.Equal((type, blockSize, doubleQuant), (layer.Weight.QuantType, layer.Weight.BlockSize, layer.Weight.IsDoubleQuantized));

        var (mean, max) = Errors(merged, floatMerge);
        var (denseMean, denseMax) = Errors(merged, denseMerge);
        var (baseMean, _) = Errors(baseQ, dense);
        double deltaMean = delta.Average(v => Math.Abs(v));
        // How much of the update survives: the projection of (merged − W_q) on ΔW, as a fraction of ΔW.
        double dot = 0, norm = 0;
        for (int i = 0; i < delta.Length; i++)
        {
            dot += (merged[i] - baseQ[i]) * (double)delta[i];
            norm += (double)delta[i] * delta[i];
        }
        output.WriteLine($"{type} B={blockSize} dq={doubleQuant}, W ~ N(0, 0.02) [{n}, {k}], mean|ΔW| = {deltaMean:E3}: " +
                         $"4-bit merge vs float merge (W_q + ΔW): mean {mean:E3}, max {max:E3}; vs dense merge (W + ΔW): mean {denseMean:E3}, max {denseMax:E3}; " +
                         $"base quantization alone: mean {baseMean:E3}; fraction of ΔW kept {dot / norm:F3}");
        for (int start = 0; start < merged.Length; start += blockSize)
        {
            double absmax = 0;
            for (int i = start; i < start + blockSize; i++) absmax = Math.Max(absmax, Math.Abs(floatMerge[i]));
            double bound = (type == QuantType.Nf4 ? Nf4HalfGap : 1.0 / 6) * absmax * 1.02; // FP4's widest half-gap: (1 − 2/3) / 2
            for (int i = start; i < start + blockSize; i++)
                if (Math.Abs(merged[i] - floatMerge[i]) > bound)
                    Assert.Fail($"element {i}: {merged[i]} vs {floatMerge[i]} (bound {bound})");
        }
        Assert.True(mean <= baseMean, $"requantization error {mean} exceeds the base's own quantization error {baseMean}");
    }

    private static (double Mean, double Max) Errors(float[] x, float[] y)
    {
        double sum = 0, max = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = Math.Abs(x[i] - y[i]);
            sum += e;
            max = Math.Max(max, e);
        }
        return (sum / x.Length, max);
    }
}
