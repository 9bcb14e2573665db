using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Lora;

/// <summary>
/// DoRA's row passes on both cores: close to their scalar references and bit-identical on 1 and 2 threads, on
/// shapes with many chunks and ragged tails.
/// </summary>
public class DoraRowKernelsTests
{
    private static float[] Values(int count, int seed) => Tensor.Normal([count], 0, 1, new TensorRandom((ulong)seed)).ToArray();

    private static (float[] One, float[] Two) OnOneAndTwoThreads(Func<float[]> kernel)
    {
        int before = ComputeSettings.ThreadCount;
        try
        {
            ComputeSettings.ThreadCount = 1;
            var one = kernel();
            ComputeSettings.ThreadCount = 2;
            return (one, kernel());
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }

    [Theory]
    [InlineData(1, 1, true)]
    [InlineData(3, 17, false)]
    [InlineData(257, 1376, true)]
    [InlineData(1024, 515, false)]
    public void ScaleRows_matches_its_reference_and_the_thread_count_does_not_matter(int m, int n, bool withShift)
    {
        var x = Values(m * n, 1);
        var scale = Values(n, 2);
        var shift = withShift ? Values(n, 3) : [];
        var expected = new float[m * n];
        DoraRowKernels.ScaleRowsReference(x, scale, shift, expected, m, n);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var y = new float[m * n];
            DoraRowKernels.ScaleRows(x, scale, shift, y, m, n);
            return y;
        });
        Assert.Equal(one, two);
        TensorAssert.Close(expected, one, 1e-6f, 1e-6f);
    }

    [Theory]
    [InlineData(1376, 512)]
    [InlineData(37, 100)]
    [InlineData(300, 64)]
    public void Base_weight_row_norms_are_each_rows_float32_sum_of_squares_on_any_thread_count(int n, int k)
    {
        // DoRA takes ‖W[o, :]‖² at every forward pass, rows split over the kernel threads: each row must be its own
        // float32 SumOfSquares whatever the split, for a dense weight and for a 4-bit one decoded tile by tile.
        var dense = Tensor.Normal([n, k], 0, 1, new TensorRandom(7));
        var packed = Nf4Quantizer.Quantize(dense, QuantType.Nf4, 64, doubleQuant: true);
        var decoded = new float[n * k];
        packed.DecodeTile(0, n, 0, k, decoded, k);
        foreach (var (weight, values, what) in new[] { (dense, dense.ToArray(), "dense"), ((Tensor?)null, decoded, "4-bit") })
        {
            var expected = new double[n];
            for (int o = 0; o < n; o++) expected[o] = System.Numerics.Tensors.TensorPrimitives.SumOfSquares(values.AsSpan(o * k, k));
            var (one, two) = OnOneAndTwoThreads(() =>
            {
                var squares = new double[n];
                RowSquaredNormsWork.Compute(weight, weight is null ? packed : null, n, k, squares);
                return Array.ConvertAll(squares, v => (float)v);
            });
            Assert.True(expected.Select(v => (float)v).SequenceEqual(one), $"{what}: a row differs from its own sum of squares");
            Assert.True(one.SequenceEqual(two), $"{what}: 1 and 2 threads differ");
        }
    }

    [Fact]
    public void ScaleRows_may_scale_in_place()
    {
        int m = 300, n = 129;
        var x = Values(m * n, 4);
        var scale = Values(n, 5);
        var expected = new float[m * n];
        DoraRowKernels.ScaleRowsReference(x, scale, default, expected, m, n);
        DoraRowKernels.ScaleRows(x, scale, default, x, m, n);
        Assert.Equal(expected, x);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(5, 33)]
    [InlineData(1024, 1376)]
    [InlineData(777, 515)]
    public void AddColumnDots_matches_its_reference_and_the_thread_count_does_not_matter(int m, int n)
    {
        var g = Values(m * n, 6);
        var p = Values(m * n, 7);
        var start = Values(n, 8);
        var expected = (float[])start.Clone();
        DoraRowKernels.AddColumnDotsReference(g, p, expected, m, n);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var sums = (float[])start.Clone();
            DoraRowKernels.AddColumnDots(g, p, sums, m, n);
            return sums;
        });
        Assert.Equal(one, two);
        TensorAssert.Close(expected, one, 1e-4f, 1e-4f);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 40)]
    [InlineData(1024, 1376)]
    [InlineData(513, 515)]
    public void AddColumnDotsThenScale_equals_the_two_passes_and_the_thread_count_does_not_matter(int m, int n)
    {
        var g = Values(m * n, 9);
        var p = Values(m * n, 10);
        var scale = Values(n, 11);
        var sums = new float[n];
        var scaled = (float[])g.Clone();
        DoraRowKernels.AddColumnDots(g, p, sums, m, n);
        DoraRowKernels.ScaleRows(g, scale, default, scaled, m, n);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var fusedG = (float[])g.Clone();
            var fusedSums = new float[n];
            DoraRowKernels.AddColumnDotsThenScale(fusedG, p, scale, fusedSums, m, n);
            return [.. fusedSums, .. fusedG];
        });
        Assert.Equal(one, two);
        Assert.Equal(sums, one[..n]);
        Assert.Equal(scaled, one[n..]);
    }
}
