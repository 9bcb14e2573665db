namespace Peft.Net.Core.Kernels;

/// <summary>Batched matrix transposes, tiled for cache locality.</summary>
internal static class TransposeKernels
{
    private const int Tile = 32;

    // source: (batch, rows, cols) → destination: (batch, cols, rows)
    /// <summary>destination[b, c, r] = source[b, r, c].</summary>
    public static void Transpose(ReadOnlySpan<float> source, Span<float> destination, int batch, int rows, int cols)
    {
        int plane = rows * cols;
        for (int b = 0; b < batch; b++)
        {
            var src = source.Slice(b * plane, plane);
            var dst = destination.Slice(b * plane, plane);
            for (int r0 = 0; r0 < rows; r0 += Tile)
            for (int c0 = 0; c0 < cols; c0 += Tile)
            {
                int rEnd = Math.Min(r0 + Tile, rows), cEnd = Math.Min(c0 + Tile, cols);
                for (int r = r0; r < rEnd; r++)
                for (int c = c0; c < cEnd; c++)
                    dst[c * rows + r] = src[r * cols + c];
            }
        }
    }

    // source: (batch, rows, cols) → destination: (batch, cols, rows), accumulated
    /// <summary>destination[b, c, r] += source[b, r, c].</summary>
    public static void TransposeAccumulate(ReadOnlySpan<float> source, Span<float> destination, int batch, int rows, int cols)
    {
        int plane = rows * cols;
        for (int b = 0; b < batch; b++)
        {
            var src = source.Slice(b * plane, plane);
            var dst = destination.Slice(b * plane, plane);
            for (int r0 = 0; r0 < rows; r0 += Tile)
            for (int c0 = 0; c0 < cols; c0 += Tile)
            {
                int rEnd = Math.Min(r0 + Tile, rows), cEnd = Math.Min(c0 + Tile, cols);
                for (int r = r0; r < rEnd; r++)
                for (int c = c0; c < cEnd; c++)
                    dst[c * rows + r] += src[r * cols + c];
            }
        }
    }
}
