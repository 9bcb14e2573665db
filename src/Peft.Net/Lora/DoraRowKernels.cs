using Peft.Net.Core.Kernels;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Peft.Net.Lora;

/// <summary>
/// The per-feature passes of DoRA's composition over an [M, N] activation, on both cores: rows scaled by the
/// magnitude ratio s (forward and the base gradient) and the column sums Σ_m g⊙p of the magnitude gradient. Work is cut
/// into row blocks whose size depends on the shape only (the column sums add fixed blocks' partial sums in block
/// order), so results do not depend on the thread count.
/// </summary>
internal static unsafe class DoraRowKernels
{
    [ThreadStatic] private static ScaleRowsWork? t_scale;
    [ThreadStatic] private static ColumnDotWork? t_columns;

    // x, y: (M, N), scale, shift: (N) → y[i] = x[i]⊙scale (+ shift); y may be x
    /// <summary>Each row of <paramref name="x"/> times <paramref name="scale"/>, plus <paramref name="shift"/> when given.</summary>
    public static void ScaleRows(ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y, int m, int n)
    {
        var work = t_scale ??= new ScaleRowsWork();
        fixed (float* xp = x, sp = scale, hp = shift, yp = y)
        {
            work.X = xp;
            work.Scale = sp;
            work.Shift = hp;
            work.Y = yp;
            work.N = n;
            work.HasShift = !shift.IsEmpty;
            work.RunChunks(m, ChunkedWork.ChunkOf(2L * n));
        }
    }

    /// <summary>Scalar reference of <see cref="ScaleRows"/>.</summary>
    public static void ScaleRowsReference(ReadOnlySpan<float> x, ReadOnlySpan<float> scale, ReadOnlySpan<float> shift, Span<float> y, int m, int n)
    {
        for (int i = 0; i < m; i++)
            for (int o = 0; o < n; o++)
                y[i * n + o] = shift.IsEmpty ? x[i * n + o] * scale[o] : x[i * n + o] * scale[o] + shift[o];
    }

    /// <summary>Rows per work item of the column sums: fixed, so the summation order depends on the shape only.</summary>
    internal const int RowsPerChunk = 64;

    [ThreadStatic] private static float[]? t_partials;

    // g, p: (M, N), sums: (N) → sums[o] += Σ_i g[i, o]·p[i, o]
    /// <summary>
    /// Adds the column sums of <paramref name="g"/>⊙<paramref name="p"/> into <paramref name="sums"/>. Each block of
    /// <see cref="RowsPerChunk"/> rows sums its rows in order into its own partial row, and the partials are added
    /// in block order, whatever the thread count.
    /// </summary>
    public static void AddColumnDots(ReadOnlySpan<float> g, ReadOnlySpan<float> p, Span<float> sums, int m, int n) =>
        ColumnDots(g, p, default, sums, m, n, scaleG: false);

    // g: (M, N) in place, p: (M, N), scale, sums: (N) → sums[o] += Σ_i g[i, o]·p[i, o], then g[i, o] ·= scale[o]
    /// <summary>
    /// <see cref="AddColumnDots"/> and then <see cref="ScaleRows"/> of <paramref name="g"/> in place, in one pass over
    /// g: each row is added to its block's partial sums and then scaled.
    /// </summary>
    public static void AddColumnDotsThenScale(Span<float> g, ReadOnlySpan<float> p, ReadOnlySpan<float> scale, Span<float> sums, int m, int n) =>
        ColumnDots(g, p, scale, sums, m, n, scaleG: true);

    private static void ColumnDots(ReadOnlySpan<float> g, ReadOnlySpan<float> p, ReadOnlySpan<float> scale, Span<float> sums, int m, int n, bool scaleG)
    {
        if (m == 0 || n == 0) return;
        int blocks = (m + RowsPerChunk - 1) / RowsPerChunk;
        var partials = t_partials;
        if (partials is null || partials.Length < blocks * n) t_partials = partials = new float[blocks * n];
        Array.Clear(partials, 0, blocks * n);
        var work = t_columns ??= new ColumnDotWork();
        fixed (float* gp = g, pp = p, scp = scale, pap = partials)
        {
            work.G = gp;
            work.P = pp;
            work.Scale = scaleG ? scp : null;
            work.Partials = pap;
            work.N = n;
            work.RunChunks(m, RowsPerChunk);
        }
        for (int block = 0; block < blocks; block++)
            TensorPrimitives.Add(sums, partials.AsSpan(block * n, n), sums);
    }

    /// <summary>Scalar reference of <see cref="AddColumnDots"/>.</summary>
    public static void AddColumnDotsReference(ReadOnlySpan<float> g, ReadOnlySpan<float> p, Span<float> sums, int m, int n)
    {
        for (int i = 0; i < m; i++)
            for (int o = 0; o < n; o++)
                sums[o] = g[i * n + o] * p[i * n + o] + sums[o];
    }

    /// <summary>Rows [start, end) of <see cref="ScaleRows"/>.</summary>
    private sealed class ScaleRowsWork : ChunkedWork
    {
        public float* X, Scale, Shift, Y;
        public int N;
        public bool HasShift;

        protected override void Run(int start, int end)
        {
            var scale = new ReadOnlySpan<float>(Scale, N);
            for (int i = start; i < end; i++)
            {
                var x = new ReadOnlySpan<float>(X + (long)i * N, N);
                var y = new Span<float>(Y + (long)i * N, N);
                if (HasShift) TensorPrimitives.MultiplyAdd(x, scale, new ReadOnlySpan<float>(Shift, N), y);
                else TensorPrimitives.Multiply(x, scale, y);
            }
        }
    }

    /// <summary>
    /// Rows [start, end) (one block) of <see cref="AddColumnDots"/>: their g⊙p summed in order into the block's partial
    /// row; with <see cref="Scale"/> set, each row of G is then scaled in place (<see cref="AddColumnDotsThenScale"/>).
    /// </summary>
    private sealed class ColumnDotWork : ChunkedWork
    {
        public float* G, P, Scale, Partials;
        public int N;

        protected override void Run(int start, int end)
        {
            var partial = new Span<float>(Partials + (long)(start / RowsPerChunk) * N, N);
            var scale = Scale == null ? default : new ReadOnlySpan<float>(Scale, N);
            for (int i = start; i < end; i++)
            {
                var g = new Span<float>(G + (long)i * N, N);
                TensorPrimitives.MultiplyAdd(g, new ReadOnlySpan<float>(P + (long)i * N, N), partial, partial);
                if (Scale != null) TensorPrimitives.Multiply(g, scale, g);
            }
        }
    }
}
