using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

public class ReductionKernelTests
{
    // (O, N, I) layouts: reducing the last dimension (I = 1), a middle one, and the first (O = 1).
    public static TheoryData<int, int, int> Layouts => new()
    {
        { 3, 1, 1 }, { 2, 17, 1 }, { 1, 1000, 1 }, { 3, 5, 33 }, { 1, 7, 64 }, { 4, 1, 3 }, { 2, 9000, 1 }, { 0, 4, 3 }, { 2, 0, 3 },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Sum_and_its_backward_match_reference(int outer, int n, int inner)
    {
        var x = KernelTestData.Values(outer * n * inner, 51, 1f, extremes: false);
        var y = new float[outer * inner];
        var yRef = new float[outer * inner];
        ReductionKernels.Sum(x, y, outer, n, inner);
        ReductionKernels.SumReference(x, yRef, outer, n, inner);
        KernelAssert.Close(yRef, y, atol: 2e-6 * Math.Sqrt(n + 1), rtol: 1e-6, $"sum ({outer}, {n}, {inner})");

        var g = KernelTestData.Values(outer * inner, 52, 1f, extremes: false);
        var dx = KernelTestData.Values(x.Length, 53, 1f, extremes: false);
        var dxRef = (float[])dx.Clone();
        float scale = n == 0 ? 1f : 1f / n;
        ReductionKernels.SumBackward(g, dx, outer, n, inner, scale);
        ReductionKernels.SumBackwardReference(g, dxRef, outer, n, inner, scale);
        TensorAssert.BitEqual(dxRef, dx, $"sum backward ({outer}, {n}, {inner})");
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Max_matches_reference_bitwise(int outer, int n, int inner)
    {
        if (n == 0)
        {
            Assert.Throws<ArgumentException>(() => ReductionKernels.Max(new float[0], new float[outer * inner], outer, n, inner));
            return;
        }
        var x = KernelTestData.Values(outer * n * inner, 54);
        var y = new float[outer * inner];
        var yRef = new float[outer * inner];
        ReductionKernels.Max(x, y, outer, n, inner);
        ReductionKernels.MaxReference(x, yRef, outer, n, inner);
        TensorAssert.BitEqual(yRef, y, $"max ({outer}, {n}, {inner})");
    }

    [Fact]
    public void Reductions_match_reference_at_every_simd_length_of_the_reduced_and_the_inner_dimension()
    {
        foreach (int n in TensorAssert.SimdLengths)
        {
            foreach (var (outer, size, inner) in new[] { (2, n, 1), (2, 3, n) })
            {
                if (size == 0 || inner == 0) continue;
                Sum_and_its_backward_match_reference(outer, size, inner);
                Max_matches_reference_bitwise(outer, size, inner);
            }
        }
    }

    [Fact]
    public void SumAll_is_accurate_for_long_spans()
    {
        foreach (int n in TensorAssert.SimdLengths.Append(100_003))
        {
            var x = KernelTestData.Values(n, 55, 1f, extremes: false);
            double exact = x.Sum(v => (double)v);
            Assert.True(Math.Abs(ReductionKernels.SumAll(x) - exact) <= 1e-6 * Math.Max(1, x.Sum(v => Math.Abs((double)v))),
                $"n={n}: {ReductionKernels.SumAll(x)} vs {exact}");
        }
    }

    [Fact]
    public void Max_backward_routes_to_the_first_maximum()
    {
        float[] x = [1, 5, 5, 2, /* row 2 */ 7, 0, 7, float.NaN];
        float[] y = new float[2];
        ReductionKernels.Max(x, y, 2, 4, 1);
        Assert.Equal(5f, y[0]);
        Assert.True(float.IsNaN(y[1]));
        var dx = new float[8];
        ReductionKernels.MaxBackward([10f, 20f], x, y, dx, 2, 4, 1);
        Assert.Equal([0f, 10f, 0f, 0f, 0f, 0f, 0f, 20f], dx);
    }
}
