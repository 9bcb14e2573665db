using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;
using static Peft.Net.Core.Tests.Kernels.GemmTestData;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>
/// Products of at most MC rows (a prefill, a small batch) pack B one panel at a time, just before its tiles, and ask
/// for the next panel's source while those run (<see cref="GemmPacking.PackPanelsJustInTime"/>): the same bits as
/// packing whole blocks first, on every micro-kernel, operand layout, weight type and thread count.
/// </summary>
public class GemmPanelOrderTests
{
    // M ≤ MC (192 at 6 rows a tile, 144 at 12 and 4); N past one column block (NC = 1024) and not a whole number of
    // panels; K over several depth blocks (KC = 384) with a short last one; M with a partial last tile.
    private static readonly (int M, int N, int K)[] Shapes = [(128, 512, 512), (131, 1100, 900), (144, 40, 385), (17, 1030, 64), (96, 24, 1376)];

    public static TheoryData<string> SupportedPaths()
    {
        var paths = new TheoryData<string>();
        foreach (var path in new[] { GemmKernelPath.Vector512, GemmKernelPath.Vector256, GemmKernelPath.Vector128, GemmKernelPath.Scalar })
            if (Gemm.IsSupported(path)) paths.Add(path.ToString());
        return paths;
    }

    [Theory]
    [MemberData(nameof(SupportedPaths))]
    public void Dense_operands_give_the_bits_of_the_block_order(string pathName)
    {
        var path = Enum.Parse<GemmKernelPath>(pathName);
        var random = new TensorRandom(41);
        foreach (var (m, n, k) in Shapes)
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { true, false })
        {
            bool accumulate = (m + n + (transB ? 1 : 0)) % 2 == 0;
            float[] a = Uniform(m * k, random), b = Uniform(k * n, random), c = Uniform(m * n, random);
            foreach (int threads in new[] { 1, 2 })
            {
                string what = $"{path} {m}×{n}×{k} transA={transA} transB={transB} accumulate={accumulate} threads={threads}";
                var (blocks, panels) = BothOrders((order, result) =>
                    Gemm.Multiply(a, transA, b, transB, result, m, n, k, accumulate, path, threads), c);
                TensorAssert.BitEqual(blocks, panels, what);
                AssertClose(Reference(a, transA, b, transB, c, m, n, k, accumulate), panels, k, what);
            }
        }
    }

    [Theory]
    [InlineData(DType.BF16, true)]
    [InlineData(DType.F16, false)]
    [InlineData(DType.F32, true)]
    public void A_weight_operand_and_a_low_rank_term_give_the_bits_of_the_block_order(DType dtype, bool transB)
    {
        // x·Wᵀ + u·(s·B)ᵀ as a LoRA layer's forward runs it (the rank-8 term rides on the last depth block), W decoded
        // panel by panel; and the plain product with the weight.
        var random = new TensorRandom(42);
        const int r = 8;
        foreach (var (m, n, k) in Shapes)
        {
            int rows = transB ? n : k, columns = transB ? k : n;
            var weight = new TensorWeight(Tensor.FromArray(Uniform(rows * columns, random), rows, columns).To(dtype));
            float[] x = Uniform(m * k, random), u = Uniform(m * r, random), scaledB = Uniform(n * r, random), c = Uniform(m * n, random);
            foreach (int threads in new[] { 1, 2 })
            {
                string what = $"{dtype} W transB={transB} {m}×{n}×{k} threads={threads}";
                var (blocks, panels) = BothOrders((order, result) =>
                    Gemm.Multiply(x, false, weight, transB, result, m, n, k, accumulate: true, GemmKernelPath.Auto, threads), c);
                TensorAssert.BitEqual(blocks, panels, what);
                (blocks, panels) = BothOrders((order, result) =>
                    Gemm.MultiplyPlusLowRank(x, transB, default, weight, u, scaledB, result, m, n, k, r, accumulate: false,
                        GemmKernelPath.Auto, threads), c);
                TensorAssert.BitEqual(blocks, panels, what + " + low-rank term");
            }
        }
    }

    [Theory]
    [InlineData(true, 16, 384, 0)]
    [InlineData(true, 5, 100, 3)]
    [InlineData(false, 16, 384, 7)]
    [InlineData(false, 9, 37, 15)]
    public unsafe void The_prefetch_walk_asks_for_every_line_of_the_next_panels_source_and_no_other(bool transB, int cols, int kc, int misalignment)
    {
        // The panel source: a transposed B's rows (cols of them, kc floats each, K apart) or a (K, N) B's kc rows of cols
        // floats, N apart, starting `misalignment` floats past a cache line.
        const int n = 600, k = 500, column = 32, p0 = 64;
        var storage = GC.AllocateArray<float>(n * k + 64, pinned: true);
        fixed (float* start = storage)
        {
            float* b = (float*)(((nint)start + 63) & ~(nint)63) + misalignment;
            var problem = new GemmProblem { B = b, N = n, K = k, TransB = transB };
            var expected = new HashSet<nint>();
            for (int i = 0; i < (transB ? cols : kc); i++)
            for (int j = 0; j < (transB ? kc : cols); j++)
            {
                float* element = transB ? b + (nint)(column + i) * k + p0 + j : b + (nint)(p0 + i) * n + column + j;
                expected.Add((nint)element >> 6);
            }
            var walk = PanelSourcePrefetch.For(problem, column, cols, p0, kc);
            int total = walk.Remaining;
            var asked = new HashSet<nint>();
            while (walk.Remaining > 0) asked.Add((nint)walk.NextLine() >> 6);
            Assert.Equal(expected.Order(), asked.Order());
            int rowCount = transB ? cols : kc;
            Assert.InRange(total, expected.Count, expected.Count + rowCount); // at most one repeated line a row
        }
    }

    [Fact]
    public void A_weight_has_no_source_to_prefetch()
    {
        var weight = new TensorWeight(Tensor.FromArray(new float[64], 8, 8).To(DType.BF16));
        var problem = new GemmProblem { Weight = weight, N = 8, K = 8, TransB = true };
        Assert.Equal(0, PanelSourcePrefetch.For(problem, 0, 8, 0, 8).Remaining);
    }

    // Runs `multiply` into a copy of c with whole blocks packed first, then into another copy panel by panel, and
    // checks that the second run took the panel-by-panel path.
    private static (float[] Blocks, float[] Panels) BothOrders(Action<bool, float[]> multiply, float[] c)
    {
        float[] blocks = (float[])c.Clone(), panels = (float[])c.Clone();
        try
        {
            GemmPacking.PackPanelsJustInTime = false;
            multiply(false, blocks);
        }
        finally
        {
            GemmPacking.PackPanelsJustInTime = true;
        }
        long before = Interlocked.Read(ref GemmPacking.OneRowBlockRuns);
        multiply(true, panels);
        Assert.True(Interlocked.Read(ref GemmPacking.OneRowBlockRuns) > before, "the product did not run panel by panel");
        return (blocks, panels);
    }
}
