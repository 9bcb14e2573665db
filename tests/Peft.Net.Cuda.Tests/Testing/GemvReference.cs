using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests.Testing;

/// <summary>References for the fused 4-bit GEMV y[N] = W[N, K] · x[K].</summary>
internal static class GemvReference
{
    private const int Warp = 32;

    /// <summary>
    /// The kernel's exact float32 operation order (kernels/gemv_body.cuh): per lane an FMA chain over its elements
    /// (32-element chunks c = lane, lane+32, … when K % 32 == 0, else single elements k = lane, lane+32, …), then the
    /// xor butterfly v[l] = v[l] + v[l ^ offset] for offsets 16, 8, 4, 2, 1. The weights are
    /// <see cref="QuantizedTensor.Dequantize"/>'s float32 values, fl32(QuantMap[code] · absmax).
    /// </summary>
    public static float[] KernelOrder(QuantizedTensor weight, float[] x)
    {
        int[] shape = weight.Shape;
        int rows = shape[0], cols = shape[1];
        float[] w = weight.Dequantize(DType.F32).AsSpan().ToArray();
        var y = new float[rows];
        Span<float> lanes = stackalloc float[Warp];
        Span<float> next = stackalloc float[Warp];
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = w.AsSpan(r * cols, cols);
            for (int lane = 0; lane < Warp; lane++)
            {
                float acc = 0f;
                if (cols % 32 == 0)
                {
                    for (int c = lane; c < cols / 32; c += Warp)
                        for (int j = 0; j < 32; j++)
                            acc = MathF.FusedMultiplyAdd(row[c * 32 + j], x[c * 32 + j], acc);
                }
                else
                {
                    for (int k = lane; k < cols; k += Warp)
                        acc = MathF.FusedMultiplyAdd(row[k], x[k], acc);
                }
                lanes[lane] = acc;
            }
            for (int offset = Warp / 2; offset > 0; offset >>= 1)
            {
                for (int lane = 0; lane < Warp; lane++)
                    next[lane] = lanes[lane] + lanes[lane ^ offset];
                next.CopyTo(lanes);
            }
            y[r] = lanes[0];
        }
        return y;
    }

    /// <summary>The same product in float64 (weights as dequantized float32), and Σ|w·x| per row for error bounds.</summary>
    public static (double[] Y, double[] AbsSum) Float64(QuantizedTensor weight, float[] x)
    {
        int[] shape = weight.Shape;
        int rows = shape[0], cols = shape[1];
        float[] w = weight.Dequantize(DType.F32).AsSpan().ToArray();
        var y = new double[rows];
        var abs = new double[rows];
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < cols; k++)
            {
                double p = (double)w[r * cols + k] * x[k];
                y[r] += p;
                abs[r] += Math.Abs(p);
            }
        return (y, abs);
    }

    /// <summary>
    /// Asserts |y − y64| ≤ (K + 32)·2⁻²⁴·Σ|w·x| per row: the worst-case bound of float32 accumulation over K terms
    /// (FMA chains plus a 5-level tree), so any correct summation order passes and a wrong element does not.
    /// </summary>
    public static void AssertWithinFloat32Bound(QuantizedTensor weight, float[] x, float[] y, string what)
    {
        var (reference, absSum) = Float64(weight, x);
        int cols = weight.Shape[1];
        for (int r = 0; r < y.Length; r++)
        {
            double bound = (cols + 32) * Math.Pow(2, -24) * absSum[r] + 1e-37;
            double error = Math.Abs(y[r] - reference[r]);
            Assert.True(error <= bound, $"{what}: row {r} is {y[r]:G9}, float64 reference {reference[r]:G12}, |error| {error:G3} > bound {bound:G3}");
        }
    }
}
