using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Entry point for every matrix product in the engine: a packed, cache-blocked, register-tiled GEMM
/// (<see cref="GemmDriver{TKernel}"/>) on the widest micro-kernel the CPU runs natively (AVX-512 12×32,
/// AVX2+FMA 6×16, Vector128 6×8, scalar 4×4), split over up to <see cref="ComputeSettings.ThreadCount"/> threads.
/// <see cref="GemmReference"/> defines the result.
/// </summary>
internal static unsafe class Gemm
{
    /// <summary>Problems with fewer multiply-adds than this run on the calling thread alone.</summary>
    public const long ParallelThreshold = 1L << 21;

    /// <summary>Each thread of a parallel call gets at least this many multiply-adds.</summary>
    public const long MinMacsPerThread = 1L << 20;

    /// <summary>
    /// Matrix-vector products (at most 4 rows of A, as in decoding) are bound by reading B, not by arithmetic: they
    /// split once B has this many elements (512 KB), so each core streams its own part of the weight.
    /// </summary>
    public const long MatrixVectorParallelThreshold = 1L << 17;

    /// <summary>Each thread of a parallel matrix-vector product reads at least this many elements of B.</summary>
    public const long MinMatrixVectorElementsPerThread = 1L << 16;

    [ThreadStatic] private static GemmParallelWork? t_work;

    // a: transA ? (K, M) : (M, K)    b: transB ? (N, K) : (K, N)    c: (M, N)
    /// <summary>C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> b, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate) =>
        Multiply(a, transA, b, transB, c, m, n, k, accumulate, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    // a: transA ? (K, M) : (M, K)    w: (N, K) when transB, (K, N) otherwise    c: (M, N)
    /// <summary>C (+)= op(A)·op(W) with W read through its packing hook, one B panel at a time.</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, IPackableWeight w, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate) =>
        Multiply(a, transA, w, transB, c, m, n, k, accumulate, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    /// <summary><see cref="Multiply(ReadOnlySpan{float}, bool, ReadOnlySpan{float}, bool, Span{float}, int, int, int, bool)"/> on a chosen micro-kernel and thread budget (tests and benchmarks).</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, ReadOnlySpan<float> b, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate, GemmKernelPath path, int threads)
    {
        CheckSizes(a.Length, c.Length, m, n, k);
        if ((long)k * n > b.Length)
            throw new ArgumentException($"GEMM: B has {b.Length} elements but op(B) is {k}×{n}.", nameof(b));
        fixed (float* pa = a, pb = b, pc = c)
        {
            var problem = new GemmProblem
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, TransA = transA, TransB = transB, Accumulate = accumulate,
            };
            Run(problem, path, threads);
        }
    }

    /// <summary><see cref="Multiply(ReadOnlySpan{float}, bool, IPackableWeight, bool, Span{float}, int, int, int, bool)"/> on a chosen micro-kernel and thread budget (tests and benchmarks).</summary>
    public static void Multiply(ReadOnlySpan<float> a, bool transA, IPackableWeight w, bool transB,
        Span<float> c, int m, int n, int k, bool accumulate, GemmKernelPath path, int threads)
    {
        ArgumentNullException.ThrowIfNull(w);
        CheckSizes(a.Length, c.Length, m, n, k);
        int rows = transB ? n : k, columns = transB ? k : n;
        if (w.Rows != rows || w.Columns != columns)
            throw new ArgumentException(
                $"GEMM: weight is {w.Rows}×{w.Columns} but op(B) = {(transB ? "Wᵀ" : "W")} must be {k}×{n}, so W must be {rows}×{columns}.",
                nameof(w));
        fixed (float* pa = a, pc = c)
        {
            var problem = new GemmProblem
            {
                A = pa, Weight = w, C = pc, M = m, N = n, K = k, TransA = transA, TransB = transB, Accumulate = accumulate,
            };
            Run(problem, path, threads);
        }
    }

    // x: (M, K)    w: (N, K)    u: (M, R)    scaledB: (N, R)    c: (M, N)
    /// <summary>
    /// C = x·Wᵀ + u·scaledBᵀ: a LoRA layer's base product with its rank-R update added while each C tile is still in
    /// L1 (no second pass over C). Bit-identical to the product followed by an accumulating
    /// <c>Multiply(u, false, scaledB, true, c, m, n, r, accumulate: true)</c>.
    /// </summary>
    public static void MultiplyPlusLowRank(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> u,
        ReadOnlySpan<float> scaledB, Span<float> c, int m, int n, int k, int r) =>
        MultiplyPlusLowRank(x, true, w, null, u, scaledB, c, m, n, k, r, false, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    /// <summary><see cref="MultiplyPlusLowRank(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, int)"/> with W (N, K) read through its packing hook.</summary>
    public static void MultiplyPlusLowRank(ReadOnlySpan<float> x, IPackableWeight w, ReadOnlySpan<float> u,
        ReadOnlySpan<float> scaledB, Span<float> c, int m, int n, int k, int r) =>
        MultiplyPlusLowRank(x, true, default, w, u, scaledB, c, m, n, k, r, false, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    // a: (M, K)    w: transB ? (N, K) : (K, N)    a2: (M, R)    b2: (N, R)    c: (M, N)
    /// <summary>
    /// C (+)= a·op(W) + a2·b2ᵀ with the rank-R term riding on the last depth block, as
    /// <see cref="MultiplyPlusLowRank(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, int)"/>;
    /// with W not transposed it is a LoRA layer's input gradient dx = g·W + du·A (b2 = Aᵀ). Bit-identical to the
    /// product followed by <c>Multiply(a2, false, b2, true, c, m, n, r, accumulate: true)</c>.
    /// </summary>
    public static void MultiplyPlusLowRank(ReadOnlySpan<float> a, bool transB, ReadOnlySpan<float> w, ReadOnlySpan<float> a2,
        ReadOnlySpan<float> b2, Span<float> c, int m, int n, int k, int r, bool accumulate) =>
        MultiplyPlusLowRank(a, transB, w, null, a2, b2, c, m, n, k, r, accumulate, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    /// <summary>
    /// <see cref="MultiplyPlusLowRank(ReadOnlySpan{float}, bool, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int, int, bool)"/>
    /// with W read through its packing hook.
    /// </summary>
    public static void MultiplyPlusLowRank(ReadOnlySpan<float> a, bool transB, IPackableWeight w, ReadOnlySpan<float> a2,
        ReadOnlySpan<float> b2, Span<float> c, int m, int n, int k, int r, bool accumulate) =>
        MultiplyPlusLowRank(a, transB, default, w, a2, b2, c, m, n, k, r, accumulate, GemmKernelPath.Auto, ComputeSettings.ThreadCount);

    /// <summary>The low-rank fused product on a chosen micro-kernel and thread budget (tests); W dense, or <paramref name="weight"/> when not null.</summary>
    internal static void MultiplyPlusLowRank(ReadOnlySpan<float> x, bool transB, ReadOnlySpan<float> w, IPackableWeight? weight,
        ReadOnlySpan<float> u, ReadOnlySpan<float> scaledB, Span<float> c, int m, int n, int k, int r, bool accumulate,
        GemmKernelPath path, int threads)
    {
        CheckSizes(x.Length, c.Length, m, n, k);
        if (r < 0 || (long)m * r > u.Length || (long)n * r > scaledB.Length)
            throw new ArgumentException($"GEMM low-rank term: u has {u.Length} and B {scaledB.Length} elements, but must be {m}×{r} and {n}×{r}.");
        if (weight is null && (long)n * k > w.Length)
            throw new ArgumentException($"GEMM: W has {w.Length} elements but op(W) is {k}×{n}.", nameof(w));
        int rows = transB ? n : k, columns = transB ? k : n;
        if (weight is not null && (weight.Rows != rows || weight.Columns != columns))
            throw new ArgumentException($"GEMM: weight is {weight.Rows}×{weight.Columns} but must be {rows}×{columns}.", nameof(weight));
        fixed (float* px = x, pw = w, pu = u, pb = scaledB, pc = c)
        {
            var problem = new GemmProblem
            {
                A = px, B = weight is null ? pw : null, Weight = weight, C = pc, M = m, N = n, K = k, TransB = transB,
                Accumulate = accumulate, A2 = pu, B2 = pb, K2 = r,
            };
            Run(problem, path, threads);
        }
    }

    /// <summary>The micro-kernel <see cref="GemmKernelPath.Auto"/> picks on this machine.</summary>
    public static GemmKernelPath BestPath =>
        Vector512.IsHardwareAccelerated && GemmMicroKernel512.IsSupported ? GemmKernelPath.Vector512
        : Vector256.IsHardwareAccelerated && GemmMicroKernel256.IsSupported ? GemmKernelPath.Vector256
        : GemmMicroKernel128.IsSupported ? GemmKernelPath.Vector128
        : GemmKernelPath.Scalar;

    /// <summary>
    /// Test hook (this thread only): lets an explicit <see cref="GemmKernelPath.Vector512"/> request run the AVX-512
    /// micro-kernel in .NET's software emulation of <c>Vector512</c> on a CPU without AVX-512, so its correctness is
    /// checked on every machine. Never used by <see cref="GemmKernelPath.Auto"/>.
    /// </summary>
    [ThreadStatic]
    internal static bool AllowEmulatedPathForTests;

    /// <summary>Whether <paramref name="path"/> runs natively here.</summary>
    public static bool IsSupported(GemmKernelPath path) => path switch
    {
        GemmKernelPath.Auto or GemmKernelPath.Scalar => true,
        GemmKernelPath.Vector512 => GemmMicroKernel512.IsSupported,
        GemmKernelPath.Vector256 => GemmMicroKernel256.IsSupported,
        GemmKernelPath.Vector128 => GemmMicroKernel128.IsSupported,
        _ => false,
    };

    private static void CheckSizes(int aLength, int cLength, int m, int n, int k)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"GEMM sizes must be non-negative; got m={m}, n={n}, k={k}.");
        if ((long)m * k > aLength)
            throw new ArgumentException($"GEMM: A has {aLength} elements but op(A) is {m}×{k}.", "a");
        if ((long)m * n > cLength)
            throw new ArgumentException($"GEMM: C has {cLength} elements but must be {m}×{n}.", "c");
    }

    private static void Run(in GemmProblem problem, GemmKernelPath path, int threads)
    {
        int m = problem.M, n = problem.N, k = problem.K;
        if (m == 0 || n == 0) return;
        if (problem.K2 > 0 && (k == 0 || problem.TransA || UsesDotKernel(LowRankTerm(problem), path == GemmKernelPath.Auto ? BestPath : path)))
        {
            // No packed depth block to carry the term on, or the term alone (which sets the bits) runs on the dot
            // kernel (at most 4 rows, at most 16 columns); the main product then does too when B is (N, K).
            RunThenAddLowRank(problem, path, threads);
            return;
        }
        if (k == 0)
        {
            if (!problem.Accumulate) new Span<float>(problem.C, m * n).Clear();
            return;
        }
        if (path == GemmKernelPath.Auto) path = BestPath;
        else if (!IsSupported(path) && !(path == GemmKernelPath.Vector512 && AllowEmulatedPathForTests))
            throw new PlatformNotSupportedException($"The {path} GEMM micro-kernel does not run on this CPU.");
        if (ComputesTransposed(problem, path))
        {
            RunTransposed(problem, path, threads);
            return;
        }

        bool dot = UsesDotKernel(problem, path);
        long macs = (long)m * n * k, elementsOfB = (long)n * k;
        int items = dot && m <= MatrixVectorRows
            ? elementsOfB < MatrixVectorParallelThreshold ? 1 : (int)Math.Clamp(elementsOfB / MinMatrixVectorElementsPerThread, 1, Math.Max(1, threads))
            : macs < ParallelThreshold ? 1 : (int)Math.Clamp(macs / MinMacsPerThread, 1, Math.Max(1, threads));
        var (tileM, tileN) = dot ? (GemmDotKernel.Rows, GemmDotDriver<FloatVector512>.NB) : TileOf(path);
        // Each thread packs the whole of the operand it does not split (a split-M call shares its packed B, see
        // below, but every thread still waits for all of it): split the dimension whose other operand is cheaper
        // to pack redundantly (a weight costs a decode, so prefer splitting N then). The dot kernel packs only B,
        // so it splits M unless C has only a few rows (a transposed A: a few rows of C, each needing all of B).
        long costSplitN = dot ? (m <= MatrixVectorRows || problem.TransA ? 0 : long.MaxValue) : m, costSplitM = (long)n * (problem.Weight is null ? 1 : 4);
        bool splitN = costSplitN <= costSplitM ? n > tileN : m <= tileM;
        int tiles = splitN ? (n + tileN - 1) / tileN : (m + tileM - 1) / tileM;
        items = Math.Min(items, tiles);
        var work = t_work ??= new GemmParallelWork();
        if (items <= 1 || work.InUse) // small, or started from inside a parallel GEMM on this thread
        {
            RunRectangle(problem, path, dot, 0, m, 0, n);
            return;
        }
        work.InUse = true;
        work.Problem = problem;
        work.Path = path;
        work.Dot = dot;
        work.SplitN = splitN;
        work.Tiles = tiles;
        work.TileSize = splitN ? tileN : tileM;
        work.Items = items;
        bool shareB = !dot && !splitN && (long)n * k >= SharedBMinimum;
        var workspace = shareB ? GemmWorkspace.Acquire() : null;
        try
        {
            if (shareB)
            {
                // Every slab of a split-M call reads all of op(B): the threads pack it once between them (a pass of
                // its own), instead of each packing all of it.
                work.SharedB = workspace!.SharedB(SharedBLength(path, n, k));
                work.PackingSharedB = true;
                ParallelRunner.For(SharedBPieces(path, n, k, items), items, work);
                work.PackingSharedB = false;
            }
            ParallelRunner.For(items, items, work);
        }
        finally
        {
            work.Problem = default; // drop the weight reference and the pointers
            work.SharedB = null;
            work.PackingSharedB = false;
            work.InUse = false;
            if (workspace is not null) GemmWorkspace.Release();
        }
    }

    /// <summary>
    /// Elements of op(B) from which a split-M call packs B once between its threads (a pass of its own) rather than
    /// in every thread: below it, the extra pass would cost about what it saves.
    /// </summary>
    public const long SharedBMinimum = 1L << 16;

    // C (+)= op(A)·op(B), then C += A2·B2ᵀ as a product of its own (the same bits as the fused form)
    private static void RunThenAddLowRank(in GemmProblem problem, GemmKernelPath path, int threads)
    {
        var main = problem;
        main.A2 = main.B2 = null;
        main.K2 = 0;
        Run(main, path, threads);
        Run(LowRankTerm(problem), path, threads);
    }

    // A2: (M, K2), B2: (N, K2) → C += A2·B2ᵀ as a problem of its own
    private static GemmProblem LowRankTerm(in GemmProblem problem) => new()
    {
        A = problem.A2, B = problem.B2, C = problem.C, M = problem.M, N = problem.N, K = problem.K2,
        TransB = true, Accumulate = true,
    };

    /// <summary>
    /// A thin product with A transposed (a weight gradient such as dB[N, R] = dYᵀ·H with R ≤ 16) would fill only
    /// R of the micro-kernel's NR columns; its transpose Cᵀ = op(B)ᵀ·op(A)ᵀ puts R on the MR side instead.
    /// </summary>
    private static bool ComputesTransposed(in GemmProblem problem, GemmKernelPath path) =>
        path is not GemmKernelPath.Scalar && problem.TransA && problem.Weight is null
        && problem.N <= 16 && problem.M >= 4 * problem.N;

    // C: (M, N) (+)= (Cᵀ: (N, M) computed as op(B)ᵀ·op(A)ᵀ into a workspace buffer)ᵀ
    private static void RunTransposed(in GemmProblem problem, GemmKernelPath path, int threads)
    {
        int m = problem.M, n = problem.N;
        var workspace = GemmWorkspace.Acquire();
        try
        {
            float* transposed = workspace.Result(n * m);
            var swapped = new GemmProblem
            {
                A = problem.B, TransA = !problem.TransB, // op(A') = op(B)ᵀ: (N, K)
                B = problem.A, TransB = !problem.TransA, // op(B') = op(A)ᵀ: (K, M)
                C = transposed, M = n, N = m, K = problem.K, Accumulate = false,
            };
            Run(swapped, path, threads);
            var source = new ReadOnlySpan<float>(transposed, n * m);
            var destination = new Span<float>(problem.C, m * n);
            if (problem.Accumulate) TransposeKernels.TransposeAccumulate(source, destination, 1, n, m);
            else TransposeKernels.Transpose(source, destination, 1, n, m);
        }
        finally
        {
            GemmWorkspace.Release();
        }
    }

    /// <summary>
    /// Thin products run on the dot-product driver, which reads the large operand in place: A not transposed and
    /// either at most 16 columns of C (LoRA down-projections) or at most <see cref="MatrixVectorRows"/> rows with B
    /// stored (N, K) (matrix-vector products: decoding one sequence or a small batch); or at most
    /// <see cref="OuterKernelRows"/> rows of C with A transposed and B dense (K, N), more than 16 columns wide (LoRA
    /// weight gradients dA = duᵀ·x, on <see cref="GemmOuterKernel"/>).
    /// </summary>
    private static bool UsesDotKernel(in GemmProblem problem, GemmKernelPath path) =>
        path is GemmKernelPath.Vector512 or GemmKernelPath.Vector256
        && (!problem.TransA && (problem.N <= 16 || (problem.M <= MatrixVectorRows && problem.TransB))
            || problem.TransA && !problem.TransB && problem.Weight is null && problem.M <= OuterKernelRows && problem.N > 16);

    /// <summary>
    /// Rows of C up to which a product with B stored (N, K) streams Bᵀ row after row (<see cref="GemmDotKernel.Row{TVector}"/>,
    /// and <see cref="GemmDotKernel.RowPair{TVector}"/> for pairs of rows): memory-bound matrix-vector products (decoding
    /// up to 8 sequences, DoRA's rank-R A·Wᵀ), where every row gives the bits of that row computed alone. Pairs reread
    /// each row of Bᵀ from L1, so the weights come from memory once.
    /// </summary>
    public const int MatrixVectorRows = 8;

    /// <summary>
    /// Rows of C up to which a product with A transposed streams B in place (<see cref="GemmOuterKernel"/>, one pass
    /// over B per 8 rows) instead of packing it: a rank-16 LoRA gradient still makes only two passes.
    /// </summary>
    public const int OuterKernelRows = 8;

    private static (int MR, int NR) TileOf(GemmKernelPath path) => path switch
    {
        GemmKernelPath.Vector512 => (GemmMicroKernel512.MR, GemmMicroKernel512.NR),
        GemmKernelPath.Vector256 => (GemmMicroKernel256.MR, GemmMicroKernel256.NR),
        GemmKernelPath.Vector128 => (GemmMicroKernel128.MR, GemmMicroKernel128.NR),
        _ => (GemmMicroKernelScalar.MR, GemmMicroKernelScalar.NR),
    };

    // C rows [m0, m1) × columns [n0, n1), on the calling thread with its own packing buffers (and B from sharedB
    // when the call packed it once for all its threads)
    internal static void RunRectangle(in GemmProblem problem, GemmKernelPath path, bool dot, int m0, int m1, int n0, int n1,
        float* sharedB = null)
    {
        var workspace = GemmWorkspace.Acquire();
        try
        {
            if (dot && path == GemmKernelPath.Vector512)
                GemmDotDriver<FloatVector512>.Run(problem, m0, m1, n0, n1, workspace);
            else if (dot)
                GemmDotDriver<FloatVector256>.Run(problem, m0, m1, n0, n1, workspace);
            else if (path == GemmKernelPath.Vector512)
                GemmDriver<GemmMicroKernel512>.Run(problem, m0, m1, n0, n1, workspace, sharedB);
            else if (path == GemmKernelPath.Vector256)
                GemmDriver<GemmMicroKernel256>.Run(problem, m0, m1, n0, n1, workspace, sharedB);
            else if (path == GemmKernelPath.Vector128)
                GemmDriver<GemmMicroKernel128>.Run(problem, m0, m1, n0, n1, workspace, sharedB);
            else
                GemmDriver<GemmMicroKernelScalar>.Run(problem, m0, m1, n0, n1, workspace, sharedB);
        }
        finally
        {
            GemmWorkspace.Release();
        }
    }

    private static long SharedBLength(GemmKernelPath path, int n, int k) => path switch
    {
        GemmKernelPath.Vector512 => GemmDriver<GemmMicroKernel512>.SharedBLength(n, k),
        GemmKernelPath.Vector256 => GemmDriver<GemmMicroKernel256>.SharedBLength(n, k),
        GemmKernelPath.Vector128 => GemmDriver<GemmMicroKernel128>.SharedBLength(n, k),
        _ => GemmDriver<GemmMicroKernelScalar>.SharedBLength(n, k),
    };

    private static int SharedBPieces(GemmKernelPath path, int n, int k, int slices) => path switch
    {
        GemmKernelPath.Vector512 => GemmDriver<GemmMicroKernel512>.SharedBPieces(n, k, slices),
        GemmKernelPath.Vector256 => GemmDriver<GemmMicroKernel256>.SharedBPieces(n, k, slices),
        GemmKernelPath.Vector128 => GemmDriver<GemmMicroKernel128>.SharedBPieces(n, k, slices),
        _ => GemmDriver<GemmMicroKernelScalar>.SharedBPieces(n, k, slices),
    };

    // piece of a shared B (see GemmDriver.SharedBPieces), packed on the calling thread with its own buffers
    internal static void PackSharedBPiece(in GemmProblem problem, GemmKernelPath path, int piece, int slices, float* sharedB)
    {
        var workspace = GemmWorkspace.Acquire();
        try
        {
            switch (path)
            {
                case GemmKernelPath.Vector512: GemmDriver<GemmMicroKernel512>.PackSharedBPiece(problem, piece, slices, sharedB, workspace); break;
                case GemmKernelPath.Vector256: GemmDriver<GemmMicroKernel256>.PackSharedBPiece(problem, piece, slices, sharedB, workspace); break;
                case GemmKernelPath.Vector128: GemmDriver<GemmMicroKernel128>.PackSharedBPiece(problem, piece, slices, sharedB, workspace); break;
                default: GemmDriver<GemmMicroKernelScalar>.PackSharedBPiece(problem, piece, slices, sharedB, workspace); break;
            }
        }
        finally
        {
            GemmWorkspace.Release();
        }
    }
}
