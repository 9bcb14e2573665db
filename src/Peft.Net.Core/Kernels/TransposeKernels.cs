namespace Peft.Net.Core.Kernels;

/// <summary>
/// Batched matrix transposes, tiled for cache locality and run in parallel over bands of <see cref="Tile"/> source
/// rows (each band writes its own destination columns, so any split gives the same result).
/// </summary>
internal static unsafe class TransposeKernels
{
    private const int Tile = 32;

    /// <summary>Rows up to which a plain transpose runs as a row-panel packing (one panel, as wide as the rows).</summary>
    private const int PackedRowsMaximum = 16;

    [ThreadStatic] private static BandWork? t_work;

    // source: (batch, rows, cols) → destination: (batch, cols, rows)
    /// <summary>destination[b, c, r] = source[b, r, c].</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int batch, int rows, int cols) =>
        Run(source, destination, batch, rows, cols, accumulate: false);

    // source: (batch, rows, cols) → destination: (batch, cols, rows), accumulated
    /// <summary>destination[b, c, r] += source[b, r, c].</summary>
    public static void TransposeAccumulate(ReadOnlySpan<float> source, Span<float> destination, int batch, int rows, int cols) =>
        Run(source, destination, batch, rows, cols, accumulate: true);

    private static void Run(ReadOnlySpan<float> source, Span<float> destination, int batch, int rows, int cols, bool accumulate)
    {
        long count = (long)batch * rows * cols;
        if (source.Length < count || destination.Length < count)
            throw new ArgumentException(
                $"Transpose kernel: {batch}×{rows}×{cols} = {count} floats needed; got source {source.Length}, destination {destination.Length}.");
        if (count == 0) return;
        if (!accumulate && batch == 1 && rows <= PackedRowsMaximum)
        {
            // A few long rows (a LoRA factor's 8 × K, or the (R, N) result of a transposed product): the GEMM's row-panel
            // packing with width = rows is exactly this transpose, 8 rows at a time in registers where AVX runs.
            fixed (float* pSource = source, pDestination = destination)
                GemmPacking.PackRows(pSource, cols, rows, cols, rows, pDestination);
            return;
        }
        int bands = (rows + Tile - 1) / Tile;
        fixed (float* pSource = source, pDestination = destination)
        {
            var work = t_work ??= new BandWork();
            work.Source = pSource;
            work.Destination = pDestination;
            work.Rows = rows;
            work.Cols = cols;
            work.Bands = bands;
            work.Accumulate = accumulate;
            work.RunChunks(batch * bands, ChunkedWork.ChunkOf(2L * Tile * cols));
        }
    }

    // src: (rows, cols) → dst: (cols, rows); source rows [r0, rEnd) only.
    private static void TransposeBand(float* src, float* dst, int rows, int cols, int r0, int rEnd, bool accumulate)
    {
        for (int c0 = 0; c0 < cols; c0 += Tile)
        {
            int cEnd = Math.Min(c0 + Tile, cols);
            if (accumulate)
            {
                for (int r = r0; r < rEnd; r++)
                for (int c = c0; c < cEnd; c++)
                    dst[c * rows + r] += src[r * cols + c];
            }
            else
            {
                for (int r = r0; r < rEnd; r++)
                for (int c = c0; c < cEnd; c++)
                    dst[c * rows + r] = src[r * cols + c];
            }
        }
    }

    /// <summary>Units [start, end) are bands: unit u is band u mod Bands of batch entry u / Bands.</summary>
    private sealed class BandWork : ChunkedWork
    {
        public float* Source, Destination;
        public int Rows, Cols, Bands;
        public bool Accumulate;

        protected override void Run(int start, int end)
        {
            long plane = (long)Rows * Cols;
            for (int u = start; u < end; u++)
            {
                int b = u / Bands, r0 = u % Bands * Tile;
                TransposeBand(Source + b * plane, Destination + b * plane, Rows, Cols, r0, Math.Min(r0 + Tile, Rows), Accumulate);
            }
        }
    }
}
