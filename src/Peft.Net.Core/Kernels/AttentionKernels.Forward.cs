using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static partial class AttentionKernels
{
    // q: (B, H, Tq, D)  k, v: (B, Hkv, Tk, D)  output: (B, H, Tq, D)  logSumExp: (B, H, Tq)
    // (or q, output: (B, Tq, H, D)  k, v: (B, Tk, Hkv, D) with AttentionLayout.BatchTimeHeads)
    /// <summary>
    /// output = softmax(q·kᵀ·scale + mask)·v, written (not accumulated), and logSumExp[row] =
    /// log Σ_j exp(s_row,j) over the keys the row sees: all the backward pass needs besides the inputs.
    /// Work items are kv heads (split into shares of their query tiles when there are fewer kv heads than twice the
    /// threads), spread over up to <paramref name="threads"/> threads (0: <see cref="ComputeSettings.ThreadCount"/>).
    /// The result does not depend on the thread count.
    /// </summary>
    /// <exception cref="ArgumentException">The shape is invalid or a buffer has the wrong length.</exception>
    public static void Forward(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        Memory<float> output, Memory<float> logSumExp, AttentionShape shape, SimdWidth width = SimdWidth.Auto, int threads = 0)
    {
        shape.Validate();
        if (q.Length != shape.QueryCount || output.Length != shape.QueryCount || k.Length != shape.KeyCount
            || v.Length != shape.KeyCount || logSumExp.Length != shape.RowCount)
            throw new ArgumentException($"Attention buffers q {q.Length}, k {k.Length}, v {v.Length}, output {output.Length}, log-sum-exp {logSumExp.Length} do not fit {shape}.");
        if (shape.QueryCount == 0) return;
        switch (ResolveWidth(width, shape.HeadDim))
        {
            case SimdWidth.Vector512: Forward<FloatVector512>(q, k, v, output, logSumExp, shape, threads); break;
            case SimdWidth.Vector256: Forward<FloatVector256>(q, k, v, output, logSumExp, shape, threads); break;
            case SimdWidth.Vector128: Forward<FloatVector128>(q, k, v, output, logSumExp, shape, threads); break;
            default: Forward<FloatScalar>(q, k, v, output, logSumExp, shape, threads); break;
        }
    }

    private static void Forward<TV>(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        Memory<float> output, Memory<float> logSumExp, AttentionShape shape, int threads)
        where TV : struct, IFloatVector<TV>
    {
        int units = shape.Group * CeilDiv(shape.QueryLength, QueryTile); // (query head of the group, query tile) pairs
        int kvHeads = shape.Batch * shape.KvHeads;
        int threadCount = ThreadCount(threads, 2L * shape.RowCount * shape.KeyLength * shape.HeadDim);
        var work = ForwardWork<TV>.Rent();
        work.Q = q;
        work.K = k;
        work.V = v;
        work.Output = output;
        work.LogSumExp = logSumExp;
        work.Shape = shape;
        // Every unit writes only its own rows, so how the units are dealt to items does not change the result.
        work.Splits = threadCount == 1 || kvHeads >= 2 * threadCount ? 1 : Math.Min(units, CeilDiv(2 * threadCount, kvHeads));
        int items = kvHeads * work.Splits;
        work.Decode = IsDecodeStep(shape);
        if (work.Decode) // a decode step: items are ranges of kv heads, each head's bits the same in any range
        {
            work.Splits = DecodeHeadRanges(shape, threadCount);
            items = shape.Batch * work.Splits;
            Interlocked.Increment(ref HeadRangeDecodeRuns);
        }
        try
        {
            ParallelRunner.For(items, threadCount, work);
        }
        finally
        {
            work.Return();
        }
    }

    // Item = (kv head b·Hkv + g, split): the units split, split + splits, … of that kv head, where unit u is query
    // head b·H + g·group + u / tiles and query tile u % tiles (strided, so causal tiles of every length mix).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardItem<TV>(ForwardWork<TV> work, int item)
        where TV : struct, IFloatVector<TV>
    {
        var shape = work.Shape;
        int splits = work.Splits, kvHead = item / splits, split = item % splits;
        int tiles = CeilDiv(shape.QueryLength, QueryTile), units = shape.Group * tiles;
        int panelLength = HeadPanelLength(shape);
        // Values are streamed as rows by O += P·V: rows Hkv·D apart (time before heads) are copied contiguous first,
        // unless each is read only about once (a decode step: one query row per head).
        bool copyValues = shape.KeyRowStride != shape.HeadDim && shape.Group * shape.QueryLength >= 4;
        // A decode step (one query row per head) reads each key once per query head: scores are dot products with
        // the key rows in place, and packing Kᵀ would cost more than it saves.
        bool keysInPlace = shape.QueryLength == 1;
        int keyPanelLength = keysInPlace ? 0 : panelLength, valueCopyLength = copyValues ? panelLength : 0;
        var scratch = Scratch(keyPanelLength + valueCopyLength + ForwardTileScratch);
        var keyPanels = scratch.AsSpan(0, keyPanelLength);
        var valueCopy = scratch.AsSpan(keyPanelLength, valueCopyLength);
        var tileScratch = scratch.AsSpan(keyPanelLength + valueCopyLength);
        int headOffset = shape.KvHeadOffset(kvHead);
        var keys = work.K.Span[headOffset..];
        var values = copyValues ? valueCopy : work.V.Span[headOffset..];
        int valueStride = copyValues ? shape.HeadDim : shape.KeyRowStride;
        var q = work.Q.Span;
        var output = work.Output.Span;
        var logSumExp = work.LogSumExp.Span;
        int b = kvHead / shape.KvHeads, g = kvHead % shape.KvHeads, packed = 0, copied = 0;
        for (int unit = split; unit < units; unit += splits)
        {
            int bh = b * shape.Heads + g * shape.Group + unit / tiles, i0 = unit % tiles * QueryTile;
            int keyEnd = shape.KeyEnd(i0 + Math.Min(QueryTile, shape.QueryLength - i0) - 1);
            if (!keysInPlace) packed = PackBlocksUpTo(keys, shape.KeyRowStride, shape, keyPanels, packed, keyEnd);
            if (copyValues) copied = CopyBlocksUpTo(work.V.Span[headOffset..], shape.KeyRowStride, shape, valueCopy, copied, keyEnd);
            ForwardTile<TV>(q, keysInPlace ? keys : keyPanels, keysInPlace, values, valueStride, output, logSumExp, shape, bh, i0, tileScratch);
        }
    }

    /// <summary>Scratch floats of <see cref="ForwardTile{TV}"/>: scores (Br, Bc), row max and row sum (Br each).</summary>
    private const int ForwardTileScratch = QueryTile * KeyBlock + 2 * QueryTile;

    // One query tile of one head: rows i0 .. i0 + R of q[b, h] (R ≤ Br) against the packed Kᵀ blocks (or, when
    // keysInPlace and R = 1, the key rows KeyRowStride apart) and the rows of v of kv head h / group.
    // q, output: rows QueryRowStride apart; values: (Tk, D) rows valueStride apart.
    // Per key block: S (R, Lc) = scale·Q·Kᵀ; per row m' = max(m, max S), P = exp(S − m'), l = l·e^(m − m') + Σ P,
    // O ← O·e^(m − m') + P·V. At the end O /= l, lse = m + log l.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTile<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, bool keysInPlace, ReadOnlySpan<float> values,
        int valueStride, Span<float> output, Span<float> logSumExp, AttentionShape shape, int bh, int i0, Span<float> scratch)
        where TV : struct, IFloatVector<TV>
    {
        int depth = shape.HeadDim, rows = Math.Min(QueryTile, shape.QueryLength - i0);
        int qs = shape.QueryRowStride;
        int queryOffset = shape.QueryHeadOffset(bh) + i0 * qs;
        var queries = q[queryOffset..];                                              // (R, D) rows qs apart
        var result = output[queryOffset..];                                          // (R, D) rows qs apart, the running O
        var scores = scratch[..(QueryTile * KeyBlock)];                              // (R, Lc): S, then P
        var rowMax = scratch.Slice(QueryTile * KeyBlock, rows);                      // m (R)
        var rowSum = scratch.Slice(QueryTile * KeyBlock + QueryTile, rows);          // l (R)
        rowMax.Fill(float.NegativeInfinity);
        rowSum.Clear();
        for (int r = 0; r < rows; r++) result.Slice(r * qs, depth).Clear();

        int keyEnd = shape.KeyEnd(i0 + rows - 1);
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int blockKeys = Math.Min(KeyBlock, keyEnd - j0);
            int width = RoundUp(blockKeys, 2 * TV.Count);
            int diagonal = shape.Causal ? i0 + shape.CausalOffset + 1 - j0 : NoMask; // row r sees keys j0 + c, c < r + diagonal
            if (keysInPlace)
                ScoreRowInPlace<TV>(queries, keys[(j0 * shape.KeyRowStride)..], shape.KeyRowStride,
                    Math.Min(blockKeys, shape.KeyEnd(i0) - j0), depth, shape.Scale, scores);
            else ScorePanel<TV>(queries, qs, keys[(j0 * depth)..], KeyBlock, scores, rows, depth, width, shape.Scale, diagonal);
            for (int r = 0; r < rows; r++)
            {
                var row = scores.Slice(r * width, width);
                int visible = Math.Min(blockKeys, shape.KeyEnd(i0 + r) - j0);
                if (visible <= 0)
                {
                    row.Clear(); // the whole block lies past this row's diagonal
                    continue;
                }
                OnlineSoftmaxBlock<TV>(row[..visible], ref rowMax[r], ref rowSum[r], result.Slice(r * qs, depth));
                row[visible..].Clear();
            }
            AccumulateProduct<TV>(result, qs, scores, width, 1, values[(j0 * valueStride)..], valueStride, rows, blockKeys, depth,
                -NoMask, diagonal);
        }

        var lse = logSumExp.Slice(bh * shape.QueryLength + i0, rows);
        for (int r = 0; r < rows; r++)
        {
            var o = result.Slice(r * qs, depth);
            TensorPrimitives.Multiply(o, 1f / rowSum[r], o);
            lse[r] = rowMax[r] + MathF.Log(rowSum[r]);
        }
    }

    // p: (L) one row's scores of a key block    output: (D) the row's running O
    /// <summary>
    /// One key block of a row's online softmax: p = exp(s − m') with m' = max(m, max s), l ← l·e^(m − m') + Σ p,
    /// O ← O·e^(m − m'), m ← m'. The caller then adds P·V to O.
    /// </summary>
    private static void OnlineSoftmaxBlock<TV>(Span<float> p, ref float max, ref float sum, Span<float> output)
        where TV : struct, IFloatVector<TV>
    {
        float newMax = Math.Max(max, TensorPrimitives.Max(p));
        float blockSum = ExpShiftRow<TV>(p, newMax);
        float correction = MathF.Exp(max - newMax); // 0 on the row's first block (m = −∞)
        sum = sum * correction + blockSum;
        max = newMax;
        if (correction != 1f) TensorPrimitives.Multiply(output, correction, output);
    }
}
