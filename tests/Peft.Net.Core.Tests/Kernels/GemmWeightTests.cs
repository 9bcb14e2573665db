using System.Collections.Concurrent;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;
using static Peft.Net.Core.Tests.Kernels.GemmTestData;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>B given as an <see cref="IPackableWeight"/>: F32/F16/BF16 tensors and a weight that records its tiles.</summary>
public class GemmWeightTests
{
    public static TheoryData<DType, bool> DTypesAndTranspose() => new()
    {
        { DType.F32, true }, { DType.F32, false }, { DType.F16, true }, { DType.F16, false }, { DType.BF16, true }, { DType.BF16, false },
    };

    [Theory]
    [MemberData(nameof(DTypesAndTranspose))]
    public void Weight_operand_matches_the_reference_on_edge_and_large_shapes(DType dtype, bool transB)
    {
        var random = new TensorRandom(21);
        var shapes = SampledShapes().Where((_, i) => i % 3 == 0).Concat([(257, 300, 513), (1024, 8, 64), (64, 512, 8)]);
        foreach (var (m, n, k) in shapes)
        foreach (bool transA in new[] { false, true })
        {
            bool accumulate = (m + n + k) % 2 == 0;
            int rows = transB ? n : k, columns = transB ? k : n;
            var weight = Tensor.FromArray(Uniform(rows * columns, random), rows, columns).To(dtype);
            var dense = weight.To(DType.F32).ToArray(); // values as the weight stores them
            float[] a = Uniform(m * k, random), c = Uniform(m * n, random);
            var expected = Reference(a, transA, dense, transB, c, m, n, k, accumulate);
            var actual = (float[])c.Clone();
            Gemm.Multiply(a, transA, new TensorWeight(weight), transB, actual, m, n, k, accumulate, GemmKernelPath.Auto, threads: 2);
            AssertClose(expected, actual, k, $"{dtype} W transB={transB} m={m} n={n} k={k} transA={transA}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_large_weight_is_decoded_in_small_tiles_each_exactly_once_per_row_block(bool transB)
    {
        // y[M, N] = x[M, K] · op(W): forward x·Wᵀ (W [N, K]) and input gradient dY·W (W [K, N]).
        int m = 64, n = 768, k = 640;
        var random = new TensorRandom(22);
        int rows = transB ? n : k, columns = transB ? k : n;
        var w = new RecordingWeight(Uniform(rows * columns, random), rows, columns);
        float[] x = Uniform(m * k, random), y = new float[m * n];
        Gemm.Multiply(x, false, w, transB, y, m, n, k, accumulate: false, GemmKernelPath.Auto, threads: 2);
        AssertClose(Reference(x, false, w.Values, transB, new float[m * n], m, n, k, false), y, k, "recorded weight");

        var tiles = w.Tiles.ToArray();
        long largest = tiles.Max(t => (long)t.RowCount * t.ColCount);
        Assert.True(largest * 16 <= (long)rows * columns, $"a {largest}-element tile of a {rows}×{columns} weight was decoded at once");
        var covered = new int[rows * columns];
        foreach (var t in tiles)
        {
            Assert.True(t.Row0 >= 0 && t.Col0 >= 0 && t.Row0 + t.RowCount <= rows && t.Col0 + t.ColCount <= columns, $"tile {t} out of range");
            for (int r = t.Row0; r < t.Row0 + t.RowCount; r++)
            for (int col = t.Col0; col < t.Col0 + t.ColCount; col++)
                covered[r * columns + col]++;
        }
        // M fits one block, so however the work is split, every weight element is decoded exactly once.
        Assert.All(covered, count => Assert.Equal(1, count));
    }

    [Theory]
    [InlineData(true, 2)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    [InlineData(false, 3)]
    public void A_call_split_over_rows_decodes_each_weight_element_once_between_its_threads(bool transB, int threads)
    {
        // M far above 4·N splits the rows of C over the threads; each thread reads all of op(W). The threads pack
        // (here: decode) it once between them, in pieces, and still give the single-thread bits. K = 777 is two full
        // depth blocks and a short one; N = 260 is no multiple of any register width.
        int m = 1200, n = 260, k = 777;
        var random = new TensorRandom(23);
        int rows = transB ? n : k, columns = transB ? k : n;
        var values = Uniform(rows * columns, random);
        float[] x = Uniform(m * k, random), start = Uniform(m * n, random);
        var single = (float[])start.Clone();
        Gemm.Multiply(x, false, new RecordingWeight(values, rows, columns), transB, single, m, n, k, accumulate: true,
            GemmKernelPath.Auto, threads: 1);
        AssertClose(Reference(x, false, values, transB, start, m, n, k, true), single, k, "1 thread");

        var w = new RecordingWeight(values, rows, columns);
        var split = (float[])start.Clone();
        Gemm.Multiply(x, false, w, transB, split, m, n, k, accumulate: true, GemmKernelPath.Auto, threads);
        TensorAssert.BitEqual(single, split, $"1 vs {threads} threads");
        var covered = new int[rows * columns];
        foreach (var t in w.Tiles)
            for (int r = t.Row0; r < t.Row0 + t.RowCount; r++)
            for (int col = t.Col0; col < t.Col0 + t.ColCount; col++)
                covered[r * columns + col]++;
        Assert.All(covered, count => Assert.Equal(1, count));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_weight_that_runs_a_gemm_inside_DecodeTile_gets_its_own_buffers(bool transB)
    {
        // W = U·V decoded tile by tile with a nested GEMM, as a merged low-rank weight might do.
        int m = 300, n = 200, k = 420, rank = 256; // each tile's GEMM is big enough to go parallel itself
        var random = new TensorRandom(23);
        int rows = transB ? n : k, columns = transB ? k : n;
        var w = new LowRankWeight(Uniform(rows * rank, random), Uniform(rank * columns, random), rows, columns, rank);
        var dense = new float[rows * columns];
        GemmReference.Multiply(w.U, false, w.V, false, dense, rows, columns, rank, false);
        float[] x = Uniform(m * k, random), y = new float[m * n];
        Gemm.Multiply(x, false, w, transB, y, m, n, k, accumulate: false, GemmKernelPath.Auto, threads: 2);
        AssertClose(Reference(x, false, dense, transB, new float[m * n], m, n, k, false), y, k, "nested", maxB: rank);
    }

    [Fact]
    public void A_weight_of_the_wrong_shape_is_rejected()
    {
        var w = new RecordingWeight(new float[6], 2, 3);
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], false, w, true, new float[6], 2, 3, 3, false));
        Assert.Contains("weight is 2×3", ex.Message);
    }

    private sealed record Tile(int Row0, int RowCount, int Col0, int ColCount);

    /// <summary>A dense weight that remembers every tile the GEMM asked it to decode.</summary>
    private sealed class RecordingWeight(float[] values, int rows, int columns) : IPackableWeight
    {
        public float[] Values { get; } = values;

        public ConcurrentBag<Tile> Tiles { get; } = [];

        public int Rows => rows;

        public int Columns => columns;

        public void DecodeTile(int row0, int rowCount, int col0, int colCount, Span<float> destination, int destinationStride)
        {
            Tiles.Add(new Tile(row0, rowCount, col0, colCount));
            for (int r = 0; r < rowCount; r++)
                Values.AsSpan((row0 + r) * columns + col0, colCount).CopyTo(destination.Slice(r * destinationStride, colCount));
        }
    }

    /// <summary>W = U·V (U [rows, rank], V [rank, columns]); each tile is computed by a GEMM of its own.</summary>
    private sealed class LowRankWeight(float[] u, float[] v, int rows, int columns, int rank) : IPackableWeight
    {
        public float[] U { get; } = u;

        public float[] V { get; } = v;

        public int Rows => rows;

        public int Columns => columns;

        public void DecodeTile(int row0, int rowCount, int col0, int colCount, Span<float> destination, int destinationStride)
        {
            // U rows [row0, +rowCount) · V columns [col0, +colCount): V's column slice is copied to a small matrix first.
            var vSlice = new float[rank * colCount];
            for (int p = 0; p < rank; p++) V.AsSpan(p * columns + col0, colCount).CopyTo(vSlice.AsSpan(p * colCount));
            var tile = new float[rowCount * colCount];
            Gemm.Multiply(U.AsSpan(row0 * rank, rowCount * rank), false, vSlice, false, tile, rowCount, colCount, rank, false);
            for (int r = 0; r < rowCount; r++)
                tile.AsSpan(r * colCount, colCount).CopyTo(destination.Slice(r * destinationStride, colCount));
        }
    }
}
