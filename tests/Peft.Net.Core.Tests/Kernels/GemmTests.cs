using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;
using static Peft.Net.Core.Tests.Kernels.GemmTestData;

namespace Peft.Net.Core.Tests.Kernels;

public class GemmTests
{
    public static TheoryData<bool, bool, bool> TransposesAndAccumulate()
    {
        var data = new TheoryData<bool, bool, bool>();
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        foreach (bool acc in new[] { false, true })
            data.Add(ta, tb, acc);
        return data;
    }

    [Theory]
    [MemberData(nameof(TransposesAndAccumulate))]
    public void Fast_gemm_matches_the_reference_on_a_grid_of_edge_shapes(bool transA, bool transB, bool accumulate)
    {
        var random = new TensorRandom(11);
        foreach (var (m, n, k) in SampledShapes())
            CheckDense(m, n, k, transA, transB, accumulate, GemmKernelPath.Auto, threads: 2, random);
    }

    [Theory]
    [MemberData(nameof(TransposesAndAccumulate))]
    public void Fast_gemm_matches_the_reference_on_large_and_thin_shapes(bool transA, bool transB, bool accumulate)
    {
        var random = new TensorRandom(12);
        (int, int, int)[] shapes = [(257, 300, 513), (300, 257, 1), (129, 1, 600), (1, 333, 700), (1024, 8, 77), (700, 65, 8)];
        foreach (var (m, n, k) in shapes)
            CheckDense(m, n, k, transA, transB, accumulate, GemmKernelPath.Auto, threads: 2, random);
    }

    [Theory]
    [InlineData(nameof(GemmKernelPath.Scalar))]
    [InlineData(nameof(GemmKernelPath.Vector128))]
    [InlineData(nameof(GemmKernelPath.Vector256))]
    [InlineData(nameof(GemmKernelPath.Vector512))]
    public void Every_micro_kernel_this_cpu_runs_matches_the_reference(string pathName)
    {
        var path = Enum.Parse<GemmKernelPath>(pathName);
        bool emulate = !Gemm.IsSupported(path);
        if (emulate)
        {
            // Not native here: requested explicitly it is refused, and the kernel itself is still checked.
            Assert.Throws<PlatformNotSupportedException>(() =>
                Gemm.Multiply(new float[1], false, new float[1], false, new float[1], 1, 1, 1, false, path, 1));
            // Only the AVX-512 kernel has a portable (emulated) form to check here. The 128- and 256-bit ones run on every
            // x64 and Arm64 CPU .NET 10 runs on, unless the runtime is told not to use them (DOTNET_EnableAVX2=0): then
            // the refusal above is all this CPU does with them.
            if (path != GemmKernelPath.Vector512) return;
            Gemm.AllowEmulatedPathForTests = true;
        }
        try
        {
            RunEveryShape(path);
        }
        finally
        {
            Gemm.AllowEmulatedPathForTests = false;
        }
    }

    private static void RunEveryShape(GemmKernelPath path)
    {
        var random = new TensorRandom(13);
        (int, int, int)[] shapes = [(1, 1, 1), (3, 7, 17), (13, 33, 31), (25, 65, 129), (37, 100, 300), (6, 16, 257)];
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        foreach (var (m, n, k) in shapes)
        {
            CheckDense(m, n, k, ta, tb, accumulate: false, path, threads: 1, random);
            CheckDense(m, n, k, ta, tb, accumulate: true, path, threads: 2, random);
        }
    }

    [Fact]
    public void The_best_path_is_the_widest_accelerated_one()
    {
        var best = Gemm.BestPath;
        Assert.True(Gemm.IsSupported(best));
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            Assert.Equal(GemmKernelPath.Vector512, best);
        else if (System.Runtime.Intrinsics.X86.Fma.IsSupported && System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
            Assert.Equal(GemmKernelPath.Vector256, best);
    }

    [Fact]
    public void Results_do_not_depend_on_the_thread_count_or_the_run()
    {
        var random = new TensorRandom(14);
        foreach (var (m, n, k) in new[] { (300, 500, 400), (1000, 24, 300), (24, 1000, 300), (2001, 8, 300), (3, 3000, 700) })
        {
            float[] a = Uniform(m * k, random), b = Uniform(k * n, random);
            float[] one = new float[m * n], twice1 = new float[m * n], twice2 = new float[m * n], many = new float[m * n];
            Gemm.Multiply(a, false, b, true, one, m, n, k, false, GemmKernelPath.Auto, threads: 1);
            Gemm.Multiply(a, false, b, true, twice1, m, n, k, false, GemmKernelPath.Auto, threads: 2);
            Gemm.Multiply(a, false, b, true, twice2, m, n, k, false, GemmKernelPath.Auto, threads: 2);
            Gemm.Multiply(a, false, b, true, many, m, n, k, false, GemmKernelPath.Auto, threads: 7);
            TensorAssert.BitEqual(twice1, twice2, $"{m}x{n}x{k} two runs on 2 threads");
            TensorAssert.BitEqual(one, twice1, $"{m}x{n}x{k} 1 vs 2 threads");
            TensorAssert.BitEqual(one, many, $"{m}x{n}x{k} 1 vs 7 threads");
        }
    }

    [Fact]
    public void A_call_split_over_rows_packs_b_once_between_its_threads_and_gives_the_single_thread_bits()
    {
        // M > N splits the rows of C over the threads, which then pack the whole of op(B) between them in pieces
        // (a pass of its own) and all read it. N = 1030 is two column blocks, the second one 6 wide (no whole
        // register panel); K = 777 is two full depth blocks and a short one.
        var random = new TensorRandom(15);
        foreach (var (m, n, k) in new[] { (1500, 1030, 777), (700, 300, 400) })
        foreach (bool transB in new[] { false, true })
        {
            float[] a = Uniform(m * k, random), b = Uniform(k * n, random), start = Uniform(m * n, random);
            CheckOnOneTwoAndThreeThreads(a, false, b, transB, start, m, n, k, accumulate: true, $"{m}x{n}x{k} transB={transB}");
        }
    }

    // C (+)= op(A)·op(B) from start on 1 thread, checked against the reference, then on 2 and 3 threads with the same
    // bits; returns the 1-thread C.
    private static float[] CheckOnOneTwoAndThreeThreads(float[] a, bool transA, float[] b, bool transB, float[] start,
        int m, int n, int k, bool accumulate, string what)
    {
        float[] one = (float[])start.Clone(), two = (float[])start.Clone(), three = (float[])start.Clone();
        Gemm.Multiply(a, transA, b, transB, one, m, n, k, accumulate, GemmKernelPath.Auto, threads: 1);
        GemmTestData.AssertClose(Reference(a, transA, b, transB, start, m, n, k, accumulate), one, k, what);
        Gemm.Multiply(a, transA, b, transB, two, m, n, k, accumulate, GemmKernelPath.Auto, threads: 2);
        Gemm.Multiply(a, transA, b, transB, three, m, n, k, accumulate, GemmKernelPath.Auto, threads: 3);
        TensorAssert.BitEqual(one, two, what + ": 1 vs 2 threads");
        TensorAssert.BitEqual(one, three, what + ": 1 vs 3 threads");
        return one;
    }

    [Fact]
    public void A_fused_low_rank_term_gives_the_bits_of_the_product_followed_by_an_accumulating_low_rank_product()
    {
        // C (+)= x·op(W) + u·Bᵀ (a LoRA layer's base product and its update, or with W not transposed its input
        // gradient g·W + du·A): the update rides on the last depth block while each C tile is in L1, and must equal
        // the two separate products bit for bit, on any thread count, for a dense W and a W read through its packing
        // hook, overwriting C or adding to it; at most 4 rows go through the dot kernel instead.
        var random = new TensorRandom(16);
        var paths = new[] { GemmKernelPath.Auto, GemmKernelPath.Vector128, GemmKernelPath.Scalar }.Where(Gemm.IsSupported);
        foreach (var (m, n, k, r) in new[] { (1030, 37, 777, 8), (300, 500, 400, 16), (64, 1030, 33, 5), (3, 200, 100, 8), (1, 64, 64, 4) })
        foreach (int threads in new[] { 1, 2, 3 })
        foreach (bool packable in new[] { false, true })
        foreach (var path in paths.Where(p => p == GemmKernelPath.Auto || threads == 2))
        foreach (var (transB, accumulate) in new[] { (true, false), (false, true), (false, false) })
        {
            if (!transB && threads == 3) continue;   // the thread split does not depend on W's layout
            float[] x = Uniform(m * k, random), w = Uniform(n * k, random), u = Uniform(m * r, random), b = Uniform(n * r, random);
            float[] start = accumulate ? Uniform(m * n, random) : new float[m * n];
            string what = $"{m}x{n}x{k} rank {r}, {path}, {threads} threads, {(packable ? "packable" : "dense")} W, "
                + $"transB {transB}, accumulate {accumulate}";
            var separate = (float[])start.Clone();
            Gemm.Multiply(x, false, w, transB, separate, m, n, k, accumulate, path, threads);
            Gemm.Multiply(u, false, b, true, separate, m, n, r, true, path, threads);
            var fused = accumulate ? (float[])start.Clone() : Uniform(m * n, random); // without accumulate every element is overwritten
            var weight = packable ? new TensorWeight(transB ? Tensor.FromArray(w, n, k) : Tensor.FromArray(w, k, n)) : null;
            Gemm.MultiplyPlusLowRank(x, transB, w, weight, u, b, fused, m, n, k, r, accumulate, path, threads);
            TensorAssert.BitEqual(separate, fused, what);
            var expected = Reference(u, false, b, true, Reference(x, false, w, transB, (float[])start.Clone(), m, n, k, accumulate), m, n, r, true);
            GemmTestData.AssertClose(expected, fused, k + r, what + " against the reference");
        }
    }

    [Fact]
    public void A_last_row_panel_of_up_to_8_rows_gives_the_bits_of_the_full_tile_path()
    {
        // With AVX-512 a last row panel of 1 to 8 rows (1,024 tokens leave 4) runs 4 or 8 rows of accumulators straight
        // into C instead of 12 rows into a scratch tile: the same multiply-adds per element, so the same bits, for every
        // remainder, full and partial column panels, overwriting C or adding to it, with a fused low-rank term, on 1
        // and 2 threads. Where AVX-512 is absent the full-tile path runs both times.
        var random = new TensorRandom(17);
        foreach (int rows in Enumerable.Range(1, 11))
        foreach (var (n, k) in new[] { (64, 100), (70, 400) })
        foreach (int threads in new[] { 1, 2 })
        foreach (bool accumulate in new[] { false, true })
        {
            int m = 48 + rows;
            float[] x = Uniform(m * k, random), w = Uniform(n * k, random), u = Uniform(m * 8, random), b = Uniform(n * 8, random);
            float[] start = Uniform(m * n, random);
            float[] edge = (float[])start.Clone(), full = (float[])start.Clone();
            Gemm.MultiplyPlusLowRank(x, true, w, null, u, b, edge, m, n, k, 8, accumulate, GemmKernelPath.Auto, threads);
            GemmMicroKernel512.UseFullTileForEdgeRowsForTests = true;
            try
            {
                Gemm.MultiplyPlusLowRank(x, true, w, null, u, b, full, m, n, k, 8, accumulate, GemmKernelPath.Auto, threads);
            }
            finally
            {
                GemmMicroKernel512.UseFullTileForEdgeRowsForTests = false;
            }
            string what = $"{m}x{n}x{k}, {threads} threads, accumulate {accumulate}";
            TensorAssert.BitEqual(full, edge, what);
            var expected = Reference(u, false, b, true, Reference(x, false, w, true, (float[])start.Clone(), m, n, k, accumulate), m, n, 8, true);
            GemmTestData.AssertClose(expected, edge, k + 8, what + " against the reference");
        }
    }

    [Fact]
    public void A_matrix_vector_product_matches_the_reference_and_does_not_depend_on_the_thread_count()
    {
        // One row of A against B stored (N, K), as in decoding: the single-row kernel, which streams B row by row.
        // Any thread count gives the same bits. Two to eight rows (a small decoding batch) stream B pair of rows by
        // pair of rows and sum each row exactly as the single-row kernel does, so every row of a 2- to 8-row product
        // carries the bits of that row multiplied alone.
        var random = new TensorRandom(31);
        foreach (var (n, k) in new[] { (8, 8), (17, 33), (40, 512), (1000, 300), (4099, 517) })
        foreach (bool accumulate in new[] { false, true })
        {
            float[] a = Uniform(8 * k, random), b = Uniform(n * k, random), start = Uniform(8 * n, random);
            string what = $"1x{n}x{k} accumulate {accumulate}";
            var alone = new float[8][];
            for (int row = 0; row < 8; row++)
            {
                alone[row] = start[(row * n)..((row + 1) * n)];
                Gemm.Multiply(a.AsSpan(row * k, k), false, b, true, alone[row], 1, n, k, accumulate, GemmKernelPath.Auto, threads: 1);
            }
            GemmTestData.AssertClose(Reference(a[..k], false, b, true, start[..n], 1, n, k, accumulate), alone[0], k, what);
            float[] onParallel = start[..n];
            Gemm.Multiply(a.AsSpan(0, k), false, b, true, onParallel, 1, n, k, accumulate, GemmKernelPath.Auto, threads: 3);
            TensorAssert.BitEqual(alone[0], onParallel, what + ": 1 vs 3 threads");
            foreach (int rows in new[] { 2, 3, 4, 5, 8 })
            foreach (int threads in new[] { 1, 2 })
            {
                float[] batch = start[..(rows * n)];
                Gemm.Multiply(a.AsSpan(0, rows * k), false, b, true, batch, rows, n, k, accumulate, GemmKernelPath.Auto, threads);
                for (int row = 0; row < rows; row++)
                    TensorAssert.BitEqual(alone[row], batch.AsSpan(row * n, n).ToArray(), $"{what}: row {row} of a {rows}-row product on {threads} threads");
            }
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void The_dot_kernels_register_tile_gives_the_bits_of_the_generic_tile(int floatsPerRegister)
    {
        // Thin products (N ≤ 16: a LoRA down-projection x·Aᵀ, du = g·B) run on the dot kernel's 2×4 tile; with FMA
        // (8 floats) or AVX-512 (16) it runs on raw registers and must give the generic tile's bits: the same
        // multiply-adds, reduction and K tail. Odd row and column counts exercise the repeated last row and column;
        // K = 37 a K tail. Without AVX-512 the 16-float case runs the generic tile both times (emulated).
        var path = floatsPerRegister == 8 ? GemmKernelPath.Vector256 : GemmKernelPath.Vector512;
        if (floatsPerRegister == 8 && !Gemm.IsSupported(GemmKernelPath.Vector256)) // AVX2 or FMA off (DOTNET_EnableAVX2=0)
        {
            Assert.Throws<PlatformNotSupportedException>(() =>
                Gemm.Multiply(new float[8], false, new float[8], true, new float[1], 1, 1, 8, false, GemmKernelPath.Vector256, 1));
            return;
        }
        Gemm.AllowEmulatedPathForTests = true;
        try
        {
            var random = new TensorRandom(34);
            foreach (var (m, n, k, transB) in new[] { (1024, 8, 512, true), (33, 5, 37, false), (70, 16, 1376, false), (9, 3, 8, true) })
            {
                float[] a = Uniform(m * k, random), b = Uniform(k * n, random);
                float[] registers = new float[m * n], generic = new float[m * n];
                Gemm.Multiply(a, false, b, transB, registers, m, n, k, accumulate: false, path, threads: 1);
                GemmDotKernel.UseGenericTileForTests = true;
                try
                {
                    Gemm.Multiply(a, false, b, transB, generic, m, n, k, accumulate: false, path, threads: 1);
                }
                finally
                {
                    GemmDotKernel.UseGenericTileForTests = false;
                }
                TensorAssert.BitEqual(generic, registers, $"{floatsPerRegister} floats, {m}x{n}x{k}, B transposed {transB}");
            }
        }
        finally
        {
            Gemm.AllowEmulatedPathForTests = false;
        }
    }

    [Fact]
    public void The_dot_kernels_eight_column_tile_gives_the_bits_of_two_four_column_tiles()
    {
        // With AVX-512 a thin product's columns run 8 at a time on a 2×8 tile (a rank-8 LoRA factor in one pass over
        // each row of A), its 16 sums reduced together in Vector512.Sum's tree: the bits of two 2×4 tiles. N = 8 and 16
        // run only wide tiles, N = 13 a wide tile and narrow ones; odd M, a K tail (37), K = 1376, B stored both ways,
        // accumulating or not, on 1 and 2 threads. Values over several decades make a wrong reduction order show.
        if (!GemmDotKernel.WideTileIsSupported) // no AVX-512 here, or DOTNET_EnableAVX512=0: the tile cannot run
        {
            Assert.False(Avx512F.IsSupported);
            return;
        }
        var random = new TensorRandom(35);
        long runsBefore = GemmDotKernel.WideTileRuns;
        foreach (var (m, n, k, transB) in new[] { (1024, 8, 512, true), (33, 13, 37, false), (70, 16, 1376, false), (9, 8, 8, true), (64, 12, 100, true) })
        foreach (bool accumulate in new[] { false, true })
        foreach (int threads in new[] { 1, 2 })
        {
            float[] a = Uniform(m * k, random), b = Uniform(k * n, random);
            for (int i = 0; i < a.Length; i += 7) a[i] *= 1e4f;
            float[] start = Uniform(m * n, random), wide = (float[])start.Clone(), narrow = (float[])start.Clone();
            Gemm.Multiply(a, false, b, transB, wide, m, n, k, accumulate, GemmKernelPath.Vector512, threads);
            GemmDotKernel.UseNarrowTilesForTests = true;
            try
            {
                Gemm.Multiply(a, false, b, transB, narrow, m, n, k, accumulate, GemmKernelPath.Vector512, threads);
            }
            finally
            {
                GemmDotKernel.UseNarrowTilesForTests = false;
            }
            TensorAssert.BitEqual(narrow, wide, $"{m}x{n}x{k}, B transposed {transB}, accumulate {accumulate}, {threads} threads");
        }
        Assert.True(GemmDotKernel.WideTileRuns > runsBefore, "no product ran on the 8-column tile");
    }

    [Fact]
    public void A_few_rows_with_a_transposed_a_stream_b_in_place_and_give_the_same_bits_on_any_thread_count_and_width()
    {
        // C[M ≤ 8, N] (+)= Aᵀ·B with A stored (K, M) and B (K, N), as a LoRA gradient dA = duᵀ·x: every element is one
        // chain of fused multiply-adds over k, so 1, 2 and 3 threads, the 256- and 512-bit registers and the scalar
        // column tail (N not a multiple of the width) all give the same bits: those of the chain from zero, added to C
        // when accumulating. M = 5 and 7 read a zero-padded copy of A. The shapes cover several column blocks of the
        // streamed sweeps (N > 512), a depth that is not a multiple of the four rows a sweep takes (K = 1, 33), an odd
        // M (the pair of rows past M is computed, not stored) and column tails.
        var random = new TensorRandom(33);
        foreach (var (m, n, k) in new[] { (8, 1376, 1024), (5, 37, 300), (8, 100, 1), (1, 17, 64), (7, 515, 33), (8, 24, 2000), (3, 1100, 6) })
        foreach (bool accumulate in new[] { false, true })
        {
            float[] a = Uniform(k * m, random), b = Uniform(k * n, random), start = Uniform(m * n, random);
            string what = $"{m}x{n}x{k} Aᵀ·B, accumulate {accumulate}";
            var one = CheckOnOneTwoAndThreeThreads(a, true, b, false, start, m, n, k, accumulate, what);
            if (Gemm.BestPath != GemmKernelPath.Vector256 && Gemm.BestPath != GemmKernelPath.Vector512) continue;
            var chain = (float[])start.Clone();
            for (int r = 0; r < m; r++)
                for (int j = 0; j < n; j++)
                {
                    float sum = 0;
                    for (int p = 0; p < k; p++) sum = MathF.FusedMultiplyAdd(a[p * m + r], b[p * n + j], sum);
                    chain[r * n + j] = accumulate ? chain[r * n + j] + sum : sum;
                }
            TensorAssert.BitEqual(chain, one, what + ": the fused multiply-add chain over k");
            var wide = (float[])start.Clone();
            Gemm.AllowEmulatedPathForTests = true;
            try
            {
                Gemm.Multiply(a, true, b, false, wide, m, n, k, accumulate, GemmKernelPath.Vector512, threads: 2);
            }
            finally
            {
                Gemm.AllowEmulatedPathForTests = false;
            }
            TensorAssert.BitEqual(one, wide, what + ": 512-bit registers");
        }
    }

    [Fact]
    public void Zero_k_stores_zeros_or_leaves_an_accumulated_c_unchanged()
    {
        var c = new float[] { 1, 2, 3, 4, 5, 6 };
        Gemm.Multiply([], false, [], false, c, 2, 3, 0, accumulate: true);
        Assert.Equal([1f, 2, 3, 4, 5, 6], c);
        Gemm.Multiply([], false, [], false, c, 2, 3, 0, accumulate: false);
        Assert.Equal(new float[6], c);
        Gemm.Multiply([], true, [], true, [], 0, 0, 5, accumulate: false); // empty C: nothing to do
    }

    [Fact]
    public void Bad_sizes_throw_clear_errors()
    {
        var ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[5], false, new float[6], false, new float[4], 2, 2, 3, false));
        Assert.Contains("A has 5 elements but op(A) is 2×3", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], false, new float[5], false, new float[4], 2, 2, 3, false));
        Assert.Contains("B has 5 elements but op(B) is 3×2", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[6], false, new float[6], false, new float[3], 2, 2, 3, false));
        Assert.Contains("C has 3 elements but must be 2×2", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Multiply(new float[6], false, new float[6], false, new float[4], -2, 2, 3, false));
    }

    [Fact]
    public void A_steady_state_call_allocates_nothing()
    {
        var random = new TensorRandom(15);
        foreach (int threads in new[] { 1, 2 })
        {
            int m = 200, n = 300, k = 260;
            float[] a = Uniform(m * k, random), b = Uniform(k * n, random), c = new float[m * n];
            // Grow the buffers. When the shared pool is busy (tests run in parallel) a multi-threaded call runs on
            // the calling thread alone and packs the whole problem, so warm that case up too.
            Gemm.Multiply(a, false, b, true, c, m, n, k, false, GemmKernelPath.Auto, 1);
            Gemm.Multiply(a, false, b, true, c, m, n, k, false, GemmKernelPath.Auto, threads);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 3; i++) Gemm.Multiply(a, false, b, true, c, m, n, k, false, GemmKernelPath.Auto, threads);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    private static void CheckDense(int m, int n, int k, bool transA, bool transB, bool accumulate, GemmKernelPath path,
        int threads, TensorRandom random)
    {
        float[] a = Uniform(m * k, random), b = Uniform(k * n, random), c = Uniform(m * n, random);
        var expected = Reference(a, transA, b, transB, c, m, n, k, accumulate);
        var actual = (float[])c.Clone();
        Gemm.Multiply(a, transA, b, transB, actual, m, n, k, accumulate, path, threads);
        AssertClose(expected, actual, k, $"{path} m={m} n={n} k={k} transA={transA} transB={transB} accumulate={accumulate}");
    }
}
