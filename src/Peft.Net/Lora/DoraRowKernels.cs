using Peft.Net.Core.Kernels;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace Peft.Net.Lora;

/// <summary>
/// The per-feature passes of DoRA's composition over an [M, N] activation, on both cores: rows scaled by the
/// magnitude ratio s (forward and the base gradient) and the column sums Σ_m g⊙p of the magnitude gradient. Work is cut
/// by rows or by column blocks of fixed size, and each element is computed exactly as the one-thread loop does, so
/// results do not depend on the thread count.
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

    // g, p: (M, N), sums: (N) → sums[o] += Σ_i g[i, o]·p[i, o], rows in order
    /// <summary>Adds the column sums of <paramref name="g"/>⊙<paramref name="p"/> into <paramref name="sums"/>, summing rows in order.</summary>
    public static void AddColumnDots(ReadOnlySpan<float> g, ReadOnlySpan<float> p, Span<float> sums, int m, int n)
    {
        var work = t_columns ??= new ColumnDotWork();
        fixed (float* gp = g, pp = p, sp = sums)
        {
            work.G = gp;
            work.P = pp;
            work.Sums = sp;
            work.M = m;
            work.N = n;
            work.Scale = null;
            work.RunChunks(n, ColumnBlock(m));
        }
    }

    // g: (M, N) in place, p: (M, N), scale, sums: (N) → sums[o] += Σ_i g[i, o]·p[i, o], then g[i, o] ·= scale[o]
    /// <summary>
    /// <see cref="AddColumnDots"/> followed by <see cref="ScaleRows"/> of <paramref name="g"/> in place, in one pass
    /// over g: each element is added to its column's sum and then scaled.
    /// </summary>
    public static void AddColumnDotsThenScale(Span<float> g, ReadOnlySpan<float> p, ReadOnlySpan<float> scale, Span<float> sums, int m, int n)
    {
        var work = t_columns ??= new ColumnDotWork();
        fixed (float* gp = g, pp = p, scp = scale, sp = sums)
        {
            work.G = gp;
            work.P = pp;
            work.Scale = scp;
            work.Sums = sp;
            work.M = m;
            work.N = n;
            work.RunChunks(n, ColumnBlock(m));
            work.Scale = null;
        }
    }

    /// <summary>Columns per work item: whole 16-float groups, about one chunk's worth of floats.</summary>
    private static int ColumnBlock(int m) => Math.Max(16, ChunkedWork.ChunkOf(2L * m) / 16 * 16);

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
    /// Columns [start, end) of <see cref="AddColumnDots"/>, over all rows in order; with <see cref="Scale"/> set, each
    /// row segment of G is then scaled in place (<see cref="AddColumnDotsThenScale"/>).
    /// </summary>
    private sealed class ColumnDotWork : ChunkedWork
    {
        public float* G, P, Sums, Scale;
        public int M, N;

        protected override void Run(int start, int end)
        {
            int width = end - start;
            var sums = new Span<float>(Sums + start, width);
            var scale = Scale == null ? default : new ReadOnlySpan<float>(Scale + start, width);
            for (int i = 0; i < M; i++)
            {
                long row = (long)i * N + start;
                var g = new Span<float>(G + row, width);
                TensorPrimitives.MultiplyAdd(g, new ReadOnlySpan<float>(P + row, width), sums, sums);
                if (Scale != null) TensorPrimitives.Multiply(g, scale, g);
            }
        }
    }
}
