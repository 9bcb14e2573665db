using System.Diagnostics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Fused (flash-attention style) scaled-dot-product attention with grouped-query heads. The forward pass walks
/// each tile of <see cref="QueryTile"/> query rows over blocks of <see cref="KeyBlock"/> keys with an online
/// softmax (running max and sum), so no Tq × Tk matrix is ever stored; it keeps only the output and the per-row
/// log-sum-exp. The backward pass recomputes the probabilities block by block (FlashAttention-2). The scalar
/// oracle is <see cref="AttentionReference"/>.
/// </summary>
/// <remarks>
/// Inner products run on two register-tiled micro-kernels (<c>AttentionKernels.Tiles.cs</c>) written once over
/// <see cref="IFloatVector{TSelf}"/>; <see cref="SimdWidth"/> picks the specialisation at run time. A work item owns
/// one kv head (or a share of its query tiles) and packs that head's keys (and, backward, values) transposed once,
/// block by block, for all the query tiles it runs; a decode step over a KV cache with time before heads instead gives
/// each item a range of kv heads and walks the cached rows once (<c>AttentionKernels.Decode.cs</c>). The items run on
/// <see cref="ParallelRunner"/> through a work object cached per calling thread (<c>AttentionKernels.Work.cs</c>), so a
/// call allocates nothing. Rows are read through the strides of <see cref="AttentionShape"/>, so both
/// <see cref="AttentionLayout"/>s run the same code.
/// </remarks>
internal static partial class AttentionKernels
{
    /// <summary>
    /// Query rows per tile (Br): each block of the packed Kᵀ is reused by this many rows while it sits in L1. The
    /// block that holds a causal tile's diagonal costs little more than its visible half, since the micro-kernels
    /// skip the masked part of each register tile.
    /// </summary>
    internal const int QueryTile = 64;

    /// <summary>Keys per block (Bc); a multiple of twice every register width.</summary>
    internal const int KeyBlock = 64;

    /// <summary>Multiply-adds below which a call runs on the calling thread: starting workers would cost more.</summary>
    private const long SequentialWork = 1 << 17;

    [ThreadStatic]
    private static float[]? t_scratch;

    /// <summary>
    /// The width a kernel runs at: <paramref name="requested"/>, or for <see cref="SimdWidth.Auto"/> the widest
    /// accelerated width no wider than the head dimension (rows of D floats are the unit of the value products).
    /// </summary>
    internal static SimdWidth ResolveWidth(SimdWidth requested, int headDim)
    {
        if (requested != SimdWidth.Auto) return requested;
        if (FloatVector512.IsHardwareAccelerated && headDim >= FloatVector512.Count) return SimdWidth.Vector512;
        if (FloatVector256.IsHardwareAccelerated && headDim >= FloatVector256.Count) return SimdWidth.Vector256;
        if (FloatVector128.IsHardwareAccelerated) return SimdWidth.Vector128;
        return SimdWidth.Scalar;
    }

    /// <summary>This thread's scratch buffer, at least <paramref name="length"/> floats (grown, never shrunk).</summary>
    private static float[] Scratch(int length)
    {
        var buffer = t_scratch;
        if (buffer is null || buffer.Length < length)
            t_scratch = buffer = new float[length];
        return buffer;
    }

    /// <summary>Threads to use for <paramref name="work"/> multiply-adds: 1 for small calls, else the limit.</summary>
    private static int ThreadCount(int requested, long work) =>
        work < SequentialWork ? 1 : requested > 0 ? requested : ParallelRunner.MaxThreads;

    /// <summary>Floats of the transposed key (or value) panels of one kv head: ⌈Tk / Bc⌉ blocks of (D, Bc).</summary>
    private static int HeadPanelLength(AttentionShape shape) => CeilDiv(shape.KeyLength, KeyBlock) * KeyBlock * shape.HeadDim;

    // rows: (Tk, D) rows ld apart    panels: ⌈Tk / Bc⌉ blocks of (D, Bc), block jb holds keys jb·Bc .. jb·Bc + Bc
    /// <summary>
    /// Packs the key blocks from <paramref name="packed"/> (a block count) up to the one holding key
    /// <paramref name="keyEnd"/> − 1, so a work item packs each block of its kv head once however many query tiles
    /// read it; returns the new count of packed blocks.
    /// </summary>
    private static int PackBlocksUpTo(ReadOnlySpan<float> rows, int ld, AttentionShape shape, Span<float> panels,
        int packed, int keyEnd)
    {
        int depth = shape.HeadDim, needed = CeilDiv(keyEnd, KeyBlock);
        for (int block = packed; block < needed; block++)
        {
            int j0 = block * KeyBlock, keys = Math.Min(KeyBlock, shape.KeyLength - j0);
            PackTransposed(rows[(j0 * ld)..], ld, keys, depth, panels.Slice(block * KeyBlock * depth, KeyBlock * depth), KeyBlock);
        }
        return Math.Max(packed, needed);
    }

    // rows: (Tk, D) rows ld apart    copy: (Tk, D) rows D apart
    /// <summary>
    /// Copies the key (or value) blocks from <paramref name="copied"/> (a block count) up to the one holding key
    /// <paramref name="keyEnd"/> − 1 to contiguous rows, for the products that stream them as rows: rows H·D apart
    /// (time before heads) would fall into a few cache sets. Returns the new count of copied blocks.
    /// </summary>
    private static int CopyBlocksUpTo(ReadOnlySpan<float> rows, int ld, AttentionShape shape, Span<float> copy,
        int copied, int keyEnd)
    {
        int depth = shape.HeadDim, needed = CeilDiv(keyEnd, KeyBlock);
        int first = copied * KeyBlock, end = Math.Min(shape.KeyLength, needed * KeyBlock);
        if (end > first) CopyRows(rows[(first * ld)..], ld, end - first, depth, copy[(first * depth)..]);
        return Math.Max(copied, needed);
    }

    // rows: (R, D) rows ld apart → copy: (R, D) rows D apart
    /// <summary>
    /// Copies <paramref name="count"/> rows of <paramref name="depth"/> floats to contiguous rows: the GEMM's column
    /// packing with the panel as wide as a row (registers in line; a copy call a row cost about as much as the row).
    /// </summary>
    private static unsafe void CopyRows(ReadOnlySpan<float> rows, int ld, int count, int depth, Span<float> copy)
    {
        if (count <= 0) return;
        Debug.Assert(rows.Length >= (count - 1) * ld + depth && copy.Length >= count * depth);
        fixed (float* source = rows, destination = copy)
            GemmPacking.PackColumns(source, ld, depth, count, depth, destination);
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    private static int RoundUp(int a, int multiple) => CeilDiv(a, multiple) * multiple;
}
