using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>Operands, the oracle and the float32 tolerance shared by the GEMM tests.</summary>
internal static class GemmTestData
{
    /// <summary>Sizes that hit every tile width and tail of every micro-kernel (MR 4/6/12, NR 4/8/16/32, KC 256).</summary>
    public static readonly int[] Sizes = [0, 1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 129];

    /// <summary>A sampled (m, n, k) grid: every size appears as m, n and k with varied partners.</summary>
    public static IEnumerable<(int M, int N, int K)> SampledShapes()
    {
        int s = Sizes.Length;
        for (int i = 0; i < s; i++)
        for (int j = 0; j < s; j++)
        {
            yield return (Sizes[i], Sizes[j], Sizes[(i + 2 * j) % s]);
            if ((i + j) % 3 == 0) yield return (Sizes[i], Sizes[j], Sizes[(3 * i + j + 5) % s]);
        }
    }

    public static float[] Uniform(int length, TensorRandom random)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
        return values;
    }

    /// <summary>
    /// Float32 summation in any order errs by about u·k·max|a|·max|b| (u = 2⁻²⁴) at worst in practice; allow 8× that
    /// (i.e. 8u·√k times the √k·max|a|·max|b| scale of the result), plus rounding of an accumulated C.
    /// </summary>
    public static void AssertClose(float[] expected, float[] actual, int k, string what, double maxA = 1, double maxB = 1)
    {
        const double u = 1.0 / (1 << 24);
        double atol = 8 * u * (k + 1) * maxA * maxB;
        TensorAssert.Close(expected, actual, atol, rtol: 4 * u, what: what);
    }

    /// <summary>The oracle: C (+)= op(A)·op(B) by <see cref="GemmReference"/> on a copy of <paramref name="c"/>.</summary>
    public static float[] Reference(float[] a, bool transA, float[] b, bool transB, float[] c, int m, int n, int k, bool accumulate)
    {
        var expected = (float[])c.Clone();
        GemmReference.Multiply(a, transA, b, transB, expected, m, n, k, accumulate);
        return expected;
    }
}
