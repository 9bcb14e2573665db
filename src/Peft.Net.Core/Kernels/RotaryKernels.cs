using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Rotary position embedding in Hugging Face Llama's "rotate_half" layout: with the head dimension split in
/// halves x = [x₁, x₂], <c>y = x·cos + [−x₂, x₁]·sin</c>, cos and sin read from the table row of the token's position.
/// The backward pass applies the transposed (inverse) rotation. The SIMD kernels run in parallel chunks of rows;
/// the <c>…Reference</c> methods are the scalar specification.
/// </summary>
internal static unsafe partial class RotaryKernels
{
    /// <summary>
    /// How a tensor is walked: it is seen as [B, O, T, I, D] where T is the dimension the positions index, D the
    /// head dimension, and O, I the (possibly empty) products of the dimensions between. Positions are either one
    /// list of T shared by every batch entry or a [B, T] list.
    /// </summary>
    internal readonly record struct Layout(int Batch, int Outer, int Time, int Inner, int HeadDim, bool PositionsPerBatch)
    {
        /// <summary>Total number of floats.</summary>
        public long Count => (long)Batch * Outer * Time * Inner * HeadDim;
    }

    // y, x: (B, O, T, I, D); cos, sin: (P, D); positions: (T) or (B, T)
    /// <summary>y = x·cos + rotate_half(x)·sin, row by row.</summary>
    public static void Forward(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout)
    {
        if (FloatVector512.IsHardwareAccelerated) Forward<FloatVector512>(y, x, cos, sin, positions, layout);
        else if (FloatVector256.IsHardwareAccelerated) Forward<FloatVector256>(y, x, cos, sin, positions, layout);
        else if (FloatVector128.IsHardwareAccelerated) Forward<FloatVector128>(y, x, cos, sin, positions, layout);
        else ForwardReference(y, x, cos, sin, positions, layout);
    }

    // dx, dy: (B, O, T, I, D); cos, sin: (P, D); positions: (T) or (B, T)
    /// <summary>
    /// dx += dy·cos + rotate_halfᵀ(dy·sin), where rotate_halfᵀ([u₁, u₂]) = [u₂, −u₁]. With <paramref name="overwrite"/>
    /// dx is stored instead of added (a fresh gradient buffer: no zero-fill, no read).
    /// </summary>
    public static void Backward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout, bool overwrite = false)
    {
        if (FloatVector512.IsHardwareAccelerated) Backward<FloatVector512>(dx, dy, cos, sin, positions, layout, overwrite);
        else if (FloatVector256.IsHardwareAccelerated) Backward<FloatVector256>(dx, dy, cos, sin, positions, layout, overwrite);
        else if (FloatVector128.IsHardwareAccelerated) Backward<FloatVector128>(dx, dy, cos, sin, positions, layout, overwrite);
        else BackwardReference(dx, dy, cos, sin, positions, layout, overwrite);
    }

    /// <summary><see cref="Forward"/> at one vector width.</summary>
    internal static void Forward<TVector>(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(y.Length, x.Length, cos.Length, sin.Length, positions.Length, layout);
        fixed (float* pY = y, pX = x, pCos = cos, pSin = sin)
        fixed (int* pPositions = positions)
        {
            var work = RowsWork<TVector>.Cached ??= new();
            work.Set(pY, pX, pCos, pSin, cos.Length, pPositions, positions.Length, layout, backward: false);
            work.RunChunks(layout.Batch * layout.Outer * layout.Time * layout.Inner, ChunkedWork.ChunkOf(2L * layout.HeadDim));
        }
    }

    // Rows [start, end) of Forward.
    private static void ForwardRows<TVector>(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        int d = layout.HeadDim, half = d / 2, n = TVector.Count;
        foreach (var (row, p) in new RowWalk(layout, positions, start, end))
        {
            var c = cos.Slice(p * d, d);
            var s = sin.Slice(p * d, d);
            var xr = x.Slice(row * d, d);
            var yr = y.Slice(row * d, d);
            int j = 0;
            for (; j <= half - n; j += n)
            {
                var x1 = TVector.Load(xr, j);
                var x2 = TVector.Load(xr, j + half);
                TVector.Store(x1 * TVector.Load(c, j) - x2 * TVector.Load(s, j), yr, j);
                TVector.Store(x2 * TVector.Load(c, j + half) + x1 * TVector.Load(s, j + half), yr, j + half);
            }
            for (; j < half; j++)
            {
                float x1 = xr[j], x2 = xr[j + half];
                yr[j] = x1 * c[j] - x2 * s[j];
                yr[j + half] = x2 * c[j + half] + x1 * s[j + half];
            }
        }
    }

    /// <summary><see cref="Backward"/> at one vector width.</summary>
    internal static void Backward<TVector>(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout, bool overwrite = false) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(dx.Length, dy.Length, cos.Length, sin.Length, positions.Length, layout);
        fixed (float* pDx = dx, pDy = dy, pCos = cos, pSin = sin)
        fixed (int* pPositions = positions)
        {
            var work = RowsWork<TVector>.Cached ??= new();
            work.Set(pDx, pDy, pCos, pSin, cos.Length, pPositions, positions.Length, layout, backward: true, overwrite);
            work.RunChunks(layout.Batch * layout.Outer * layout.Time * layout.Inner, ChunkedWork.ChunkOf(2L * layout.HeadDim));
        }
    }

    // Rows [start, end) of Backward.
    private static void BackwardRows<TVector>(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout, int start, int end, bool overwrite) where TVector : struct, IFloatVector<TVector>
    {
        int d = layout.HeadDim, half = d / 2, n = TVector.Count;
        foreach (var (row, p) in new RowWalk(layout, positions, start, end))
        {
            var c = cos.Slice(p * d, d);
            var s = sin.Slice(p * d, d);
            var gr = dy.Slice(row * d, d);
            var dxr = dx.Slice(row * d, d);
            int j = 0;
            for (; j <= half - n; j += n)
            {
                var g1 = TVector.Load(gr, j);
                var g2 = TVector.Load(gr, j + half);
                var first = g1 * TVector.Load(c, j) + g2 * TVector.Load(s, j + half);
                var second = g2 * TVector.Load(c, j + half) - g1 * TVector.Load(s, j);
                TVector.Store(overwrite ? first : TVector.Load(dxr, j) + first, dxr, j);
                TVector.Store(overwrite ? second : TVector.Load(dxr, j + half) + second, dxr, j + half);
            }
            for (; j < half; j++)
            {
                float g1 = gr[j], g2 = gr[j + half];
                dxr[j] = (overwrite ? 0f : dxr[j]) + (g1 * c[j] + g2 * s[j + half]);
                dxr[j + half] = (overwrite ? 0f : dxr[j + half]) + (g2 * c[j + half] - g1 * s[j]);
            }
        }
    }

    /// <summary>Scalar specification of <see cref="Forward"/>.</summary>
    public static void ForwardReference(Span<float> y, ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout)
    {
        CheckLengths(y.Length, x.Length, cos.Length, sin.Length, positions.Length, layout);
        int d = layout.HeadDim, half = d / 2;
        int rowsPerBatch = layout.Outer * layout.Time * layout.Inner;
        for (int row = 0; row < layout.Batch * rowsPerBatch; row++)
        {
            int t = row / layout.Inner % layout.Time;
            int b = row / rowsPerBatch;
            int p = positions[layout.PositionsPerBatch ? b * layout.Time + t : t];
            for (int j = 0; j < d; j++)
            {
                float rotated = j < half ? -x[row * d + j + half] : x[row * d + j - half];
                y[row * d + j] = x[row * d + j] * cos[p * d + j] + rotated * sin[p * d + j];
            }
        }
    }

    /// <summary>Scalar specification of <see cref="Backward"/>.</summary>
    public static void BackwardReference(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<int> positions, Layout layout, bool overwrite = false)
    {
        CheckLengths(dx.Length, dy.Length, cos.Length, sin.Length, positions.Length, layout);
        int d = layout.HeadDim, half = d / 2;
        int rowsPerBatch = layout.Outer * layout.Time * layout.Inner;
        for (int row = 0; row < layout.Batch * rowsPerBatch; row++)
        {
            int t = row / layout.Inner % layout.Time;
            int b = row / rowsPerBatch;
            int p = positions[layout.PositionsPerBatch ? b * layout.Time + t : t];
            for (int j = 0; j < d; j++)
            {
                // rotate_halfᵀ(u)[j] = u[j + half] for the first half, −u[j − half] for the second.
                float transposed = j < half
                    ? dy[row * d + j + half] * sin[p * d + j + half]
                    : -dy[row * d + j - half] * sin[p * d + j - half];
                dx[row * d + j] = (overwrite ? 0f : dx[row * d + j]) + (dy[row * d + j] * cos[p * d + j] + transposed);
            }
        }
    }

    private static void CheckLengths(int output, int input, int cos, int sin, int positions, Layout layout)
    {
        if (layout.HeadDim % 2 != 0)
            throw new ArgumentException($"Rotary kernel: the head dimension {layout.HeadDim} must be even.");
        int expectedPositions = layout.PositionsPerBatch ? layout.Batch * layout.Time : layout.Time;
        if (output != layout.Count || input != layout.Count || positions != expectedPositions
            || cos != sin || (layout.HeadDim > 0 && cos % layout.HeadDim != 0))
            throw new ArgumentException(
                $"Rotary kernel: expected input and output of {layout.Count} floats for {layout}, {expectedPositions} positions and equal [P, {layout.HeadDim}] tables; " +
                $"got input {input}, output {output}, positions {positions}, cos {cos}, sin {sin}.");
    }
}
