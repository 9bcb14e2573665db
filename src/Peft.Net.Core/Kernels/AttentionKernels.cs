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
/// <see cref="IFloatVector{TSelf}"/>; <see cref="SimdWidth"/> picks the specialisation at run time.
/// </remarks>
internal static partial class AttentionKernels
{
    /// <summary>Query rows per tile (Br): every packed key block is reused by this many rows.</summary>
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
        work < SequentialWork ? 1 : requested > 0 ? requested : Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> for 0 ≤ item &lt; <paramref name="count"/> on up to <paramref name="threads"/> threads.</summary>
    private static void ForEach(int count, int threads, Action<int> body)
    {
        if (threads <= 1 || count <= 1)
        {
            for (int item = 0; item < count; item++) body(item);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;

    private static int RoundUp(int a, int multiple) => CeilDiv(a, multiple) * multiple;
}
