using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static partial class AttentionKernels
{
    // q, output, dOutput, dq: (B, H, Tq, D)  k, v, dk, dv: (B, Hkv, Tk, D)  logSumExp: (B, H, Tq)
    // (or q, output, dOutput, dq: (B, Tq, H, D)  k, v, dk, dv: (B, Tk, Hkv, D) with AttentionLayout.BatchTimeHeads)
    /// <summary>
    /// Accumulates (+=) the gradients of <see cref="Forward"/> from dOutput, recomputing the probabilities
    /// block by block (FlashAttention-2): P = exp(S − lse), dV += Pᵀ·dO, dP = dO·Vᵀ,
    /// dS = P ∘ (dP − Δ) with Δ_i = rowsum(dO ∘ O)_i, dQ += scale·dS·K, dK += scale·dSᵀ·Q; dK and dV sum over the
    /// query heads of a group. An empty gradient buffer is skipped. With <paramref name="overwrite"/> the gradients
    /// are written instead (what the buffers held is ignored): each work item zeroes the rows it owns just before it
    /// adds into them, which gives the bits of zeroed buffers and spares the caller a pass over all three.
    /// </summary>
    /// <remarks>
    /// A work item owns one kv head (b, g): its dK and dV rows and the dQ rows of its query heads, so no two
    /// threads write the same element. When there are fewer than 8 kv heads, each head's (query head, query tile)
    /// units are dealt to several items that sum dK/dV into their own partial buffers, added in a fixed order; that
    /// split depends on the shape only, so the result is the same on any number of threads.
    /// </remarks>
    /// <exception cref="ArgumentException">The shape is invalid or a buffer has the wrong length.</exception>
    public static void Backward(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        ReadOnlyMemory<float> output, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<float> dOutput,
        Memory<float> dq, Memory<float> dk, Memory<float> dv, AttentionShape shape, SimdWidth width = SimdWidth.Auto,
        int threads = 0, bool overwrite = false)
    {
        shape.Validate();
        if (q.Length != shape.QueryCount || output.Length != shape.QueryCount || dOutput.Length != shape.QueryCount
            || k.Length != shape.KeyCount || v.Length != shape.KeyCount || logSumExp.Length != shape.RowCount)
            throw new ArgumentException($"Attention buffers q {q.Length}, k {k.Length}, v {v.Length}, output {output.Length}, log-sum-exp {logSumExp.Length}, dOutput {dOutput.Length} do not fit {shape}.");
        if (!dq.IsEmpty && dq.Length != shape.QueryCount || !dk.IsEmpty && dk.Length != shape.KeyCount
            || !dv.IsEmpty && dv.Length != shape.KeyCount)
            throw new ArgumentException($"Attention gradient buffers dq {dq.Length}, dk {dk.Length}, dv {dv.Length} do not fit {shape}.");
        if (shape.QueryCount == 0)
        {
            if (overwrite) // no query reaches the keys: their gradients are zeros
            {
                dk.Span.Clear();
                dv.Span.Clear();
            }
            return;
        }
        switch (ResolveWidth(width, shape.HeadDim))
        {
            case SimdWidth.Vector512: Backward<FloatVector512>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads, overwrite); break;
            case SimdWidth.Vector256: Backward<FloatVector256>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads, overwrite); break;
            case SimdWidth.Vector128: Backward<FloatVector128>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads, overwrite); break;
            default: Backward<FloatScalar>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads, overwrite); break;
        }
    }

    /// <summary>
    /// Items a backward call is cut into at least, from the shape alone: kv heads, each split into shares of its
    /// query tiles when there are fewer. The split decides how dK/dV are summed, so it must not depend on the
    /// thread count for results to be the same on 1 and n threads.
    /// </summary>
    private const int BackwardItems = 8;

    private static void Backward<TV>(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        ReadOnlyMemory<float> output, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<float> dOutput,
        Memory<float> dq, Memory<float> dk, Memory<float> dv, AttentionShape shape, int threads, bool overwrite)
        where TV : struct, IFloatVector<TV>
    {
        int units = shape.Group * CeilDiv(shape.QueryLength, QueryTile); // (query head of the group, query tile) pairs
        int kvHeads = shape.Batch * shape.KvHeads;
        int headSize = shape.KeyLength * shape.HeadDim;
        int threadCount = ThreadCount(threads, 5L * shape.RowCount * shape.KeyLength * shape.HeadDim);
        int splits = kvHeads >= BackwardItems ? 1 : Math.Min(units, CeilDiv(BackwardItems, kvHeads));
        var work = BackwardWork<TV>.Rent();
        work.Q = q;
        work.K = k;
        work.V = v;
        work.Output = output;
        work.LogSumExp = logSumExp;
        work.DOutput = dOutput;
        work.Dq = dq;
        work.Dk = dk;
        work.Dv = dv;
        work.Shape = shape;
        work.Splits = splits;
        work.Overwrite = overwrite;
        // With several splits per kv head each sums its units into its own zeroed (Tk, D), added in split order below.
        int partialLength = kvHeads * splits * headSize;
        work.PartialK = splits > 1 && !dk.IsEmpty ? ArrayPool<float>.Shared.Rent(partialLength) : null;
        work.PartialV = splits > 1 && !dv.IsEmpty ? ArrayPool<float>.Shared.Rent(partialLength) : null;
        try
        {
            work.PartialK?.AsSpan(0, partialLength).Clear();
            work.PartialV?.AsSpan(0, partialLength).Clear();
            ParallelRunner.For(kvHeads * splits, threadCount, work);
            if (work.PartialK is not null) AddPartials(work.PartialK, dk.Span, shape, splits, overwrite);
            if (work.PartialV is not null) AddPartials(work.PartialV, dv.Span, shape, splits, overwrite);
        }
        finally
        {
            if (work.PartialK is not null) ArrayPool<float>.Shared.Return(work.PartialK);
            if (work.PartialV is not null) ArrayPool<float>.Shared.Return(work.PartialV);
            work.Return();
        }
    }

    // partials: (B·Hkv, splits, Tk, D)    target: dk or dv, rows KeyRowStride apart
    /// <summary>
    /// Adds the per-split gradients of every kv head into <paramref name="target"/>, in split order (into zeros when
    /// <paramref name="overwrite"/>).
    /// </summary>
    private static void AddPartials(float[] partials, Span<float> target, AttentionShape shape, int splits, bool overwrite)
    {
        int depth = shape.HeadDim, ks = shape.KeyRowStride, headSize = shape.KeyLength * depth;
        for (int kvHead = 0; kvHead < shape.Batch * shape.KvHeads; kvHead++)
        {
            var head = target[shape.KvHeadOffset(kvHead)..];
            if (overwrite) ClearRows(head, ks, shape.KeyLength, depth);
            for (int split = 0; split < splits; split++)
            {
                var partial = partials.AsSpan((kvHead * splits + split) * headSize, headSize);
                for (int j = 0; j < shape.KeyLength; j++)
                {
                    var row = head.Slice(j * ks, depth);
                    TensorPrimitives.Add(row, partial.Slice(j * depth, depth), row);
                }
            }
        }
    }

    // Item = (kv head, split) as in ForwardItem; it packs Kᵀ and Vᵀ of its kv head once for all its units.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardItem<TV>(BackwardWork<TV> work, int item)
        where TV : struct, IFloatVector<TV>
    {
        var shape = work.Shape;
        int splits = work.Splits, kvHead = item / splits, split = item % splits;
        int tiles = CeilDiv(shape.QueryLength, QueryTile), units = shape.Group * tiles;
        int depth = shape.HeadDim, ks = shape.KeyRowStride, headSize = shape.KeyLength * depth;
        int panelLength = HeadPanelLength(shape);
        // Keys are streamed as rows by dQ += dS·K, queries and dO by dK += dSᵀ·Q and dV += Pᵀ·dO: rows H·D apart
        // (time before heads) are copied contiguous first, keys once per item and queries per tile.
        bool copyKeys = ks != depth, copyQueries = shape.QueryRowStride != depth;
        int tileLength = BackwardTileScratch + (copyQueries ? 2 * QueryTile * depth : 0);
        var scratch = Scratch((copyKeys ? 3 : 2) * panelLength + tileLength);
        var keyPanels = scratch.AsSpan(0, panelLength);
        var valuePanels = scratch.AsSpan(panelLength, panelLength);
        var keyCopy = copyKeys ? scratch.AsSpan(2 * panelLength, panelLength) : default;
        var tileScratch = scratch.AsSpan((copyKeys ? 3 : 2) * panelLength, tileLength);
        int headOffset = shape.KvHeadOffset(kvHead);
        var keys = work.K.Span[headOffset..];
        var values = work.V.Span[headOffset..];
        var target = new TileGradients(work.Dq.Span,
            GradientHead(work.Dk, work.PartialK, item, headOffset, headSize), work.PartialK is null ? ks : depth,
            GradientHead(work.Dv, work.PartialV, item, headOffset, headSize), work.PartialV is null ? ks : depth);
        int b = kvHead / shape.KvHeads, g = kvHead % shape.KvHeads, packedKeys = 0, packedValues = 0, copied = 0;
        bool scoreGradNeeded = !work.Dq.IsEmpty || !work.Dk.IsEmpty;
        if (work.Overwrite && splits == 1) // this item owns its kv head's dK and dV rows (split heads sum partials)
        {
            if (!target.Dk.IsEmpty) ClearRows(target.Dk, target.DkStride, shape.KeyLength, depth);
            if (!target.Dv.IsEmpty) ClearRows(target.Dv, target.DvStride, shape.KeyLength, depth);
        }
        for (int unit = split; unit < units; unit += splits)
        {
            int bh = b * shape.Heads + g * shape.Group + unit / tiles, i0 = unit % tiles * QueryTile;
            int keyEnd = shape.KeyEnd(i0 + Math.Min(QueryTile, shape.QueryLength - i0) - 1);
            packedKeys = PackBlocksUpTo(keys, ks, shape, keyPanels, packedKeys, keyEnd);
            if (scoreGradNeeded) packedValues = PackBlocksUpTo(values, ks, shape, valuePanels, packedValues, keyEnd);
            if (copyKeys && !work.Dq.IsEmpty) copied = CopyBlocksUpTo(keys, ks, shape, keyCopy, copied, keyEnd);
            if (work.Overwrite && !work.Dq.IsEmpty) // the unit's dQ rows belong to it alone
                ClearRows(work.Dq.Span[(shape.QueryHeadOffset(bh) + i0 * shape.QueryRowStride)..], shape.QueryRowStride,
                    Math.Min(QueryTile, shape.QueryLength - i0), depth);
            BackwardTile<TV>(work.Q.Span, copyKeys ? keyCopy : keys, copyKeys ? depth : ks, keyPanels, valuePanels,
                work.Output.Span, work.LogSumExp.Span, work.DOutput.Span, target, shape, bh, i0, tileScratch, copyQueries);
        }
    }

    // rows: (count, depth) rows ld apart, set to 0
    private static void ClearRows(Span<float> rows, int ld, int count, int depth)
    {
        for (int r = 0; r < count; r++) rows.Slice(r * ld, depth).Clear();
    }

    /// <summary>dK or dV of one kv head: empty, in place from <paramref name="headOffset"/>, or item's partial (Tk, D).</summary>
    private static Span<float> GradientHead(Memory<float> gradient, float[]? partials, int item, int headOffset, int headSize) =>
        gradient.IsEmpty ? default : partials is null ? gradient.Span[headOffset..] : partials.AsSpan(item * headSize, headSize);

    /// <summary>Where one tile's gradients go: dq (rows QueryRowStride apart) and its kv head's dK and dV (rows at the given strides); empty when not wanted.</summary>
    private readonly ref struct TileGradients(Span<float> dq, Span<float> dk, int dkStride, Span<float> dv, int dvStride)
    {
        public readonly Span<float> Dq = dq, Dk = dk, Dv = dv;
        public readonly int DkStride = dkStride, DvStride = dvStride;
    }

    /// <summary>Scratch floats of <see cref="BackwardTile{TV}"/>: P and dS (Br, Bc) each and Δ (Br).</summary>
    private const int BackwardTileScratch = 2 * QueryTile * KeyBlock + QueryTile;

    // One query tile of one head: rows i0 .. i0 + R of head bh = b·H + h.
    // q, output, dOutput, dq: rows QueryRowStride apart    keys: (Tk, D) of kv head h / group, rows keyStride apart
    // keyPanels, valuePanels: Kᵀ, Vᵀ of that kv head in blocks of (D, Bc)
    // scratch: P, dS (Br, Bc), Δ (Br), then with copyQueries the tile's Q and dO rows (R, D) each, contiguous
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTile<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int keyStride,
        ReadOnlySpan<float> keyPanels, ReadOnlySpan<float> valuePanels, ReadOnlySpan<float> output,
        ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> dOutput, TileGradients target, AttentionShape shape, int bh,
        int i0, Span<float> scratch, bool copyQueries)
        where TV : struct, IFloatVector<TV>
    {
        int depth = shape.HeadDim, rows = Math.Min(QueryTile, shape.QueryLength - i0);
        int qs = shape.QueryRowStride;
        int queryOffset = shape.QueryHeadOffset(bh) + i0 * qs;
        var queryGrads = target.Dq.IsEmpty ? default : target.Dq[queryOffset..];   // (R, D) rows qs apart
        var lse = logSumExp.Slice(bh * shape.QueryLength + i0, rows);              // (R)
        int block = QueryTile * KeyBlock;
        var probabilities = scratch[..block];                                      // (R, Lc): S, then P
        var scoreGrads = scratch.Slice(block, block);                              // (R, Lc): dP, then dS
        var delta = scratch.Slice(2 * block, rows);                                // Δ (R)
        for (int r = 0; r < rows; r++)
            delta[r] = TensorPrimitives.Dot(dOutput.Slice(queryOffset + r * qs, depth), output.Slice(queryOffset + r * qs, depth));
        ReadOnlySpan<float> queries = q[queryOffset..], outputGrads = dOutput[queryOffset..]; // Q, dO (R, D) rows ts apart
        int ts = qs;
        if (copyQueries)
        {
            var queryCopy = scratch.Slice(2 * block + QueryTile, rows * depth);
            var outputGradCopy = scratch.Slice(2 * block + QueryTile + QueryTile * depth, rows * depth);
            CopyRows(queries, qs, rows, depth, queryCopy);
            CopyRows(outputGrads, qs, rows, depth, outputGradCopy);
            queries = queryCopy;
            outputGrads = outputGradCopy;
            ts = depth;
        }
        bool scoreGradNeeded = !queryGrads.IsEmpty || !target.Dk.IsEmpty;

        int keyEnd = shape.KeyEnd(i0 + rows - 1);
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int blockKeys = Math.Min(KeyBlock, keyEnd - j0);
            int width = RoundUp(blockKeys, 2 * TV.Count);
            int diagonal = shape.Causal ? i0 + shape.CausalOffset + 1 - j0 : NoMask; // row r sees keys j0 + c, c < r + diagonal
            ScorePanel<TV>(queries, ts, keyPanels[(j0 * depth)..], KeyBlock, probabilities, rows, depth, width, shape.Scale, diagonal);
            for (int r = 0; r < rows; r++)
            {
                var row = probabilities.Slice(r * width, width);
                int visible = Math.Clamp(shape.KeyEnd(i0 + r) - j0, 0, blockKeys);
                ExpShiftRow<TV>(row[..visible], lse[r]);
                row[visible..].Clear();
            }
            if (!target.Dv.IsEmpty) // dV (Lc, D) += Pᵀ (Lc, R) · dO (R, D); key c is seen by rows r ≥ c + 1 − diagonal
                AccumulateProduct<TV>(target.Dv[(j0 * target.DvStride)..], target.DvStride, probabilities, 1, width,
                    outputGrads, ts, blockKeys, rows, depth, 1 - diagonal, NoMask);
            if (!scoreGradNeeded) continue;

            ScorePanel<TV>(outputGrads, ts, valuePanels[(j0 * depth)..], KeyBlock, scoreGrads, rows, depth, width, 1f, diagonal); // dP = dO·Vᵀ
            for (int r = 0; r < rows; r++) // dS = scale · P ∘ (dP − Δ), the scale of S folded in; 0 past the mask
            {
                var ds = scoreGrads.Slice(r * width, width);
                int visible = Math.Clamp(shape.KeyEnd(i0 + r) - j0, 0, blockKeys);
                ScoreGradientRow<TV>(ds[..visible], probabilities.Slice(r * width, visible), delta[r], shape.Scale);
                ds[visible..].Clear();
            }
            if (!queryGrads.IsEmpty) // dQ (R, D) += dS (R, Lc) · K (Lc, D)
                AccumulateProduct<TV>(queryGrads, qs, scoreGrads, width, 1, keys[(j0 * keyStride)..], keyStride, rows, blockKeys, depth,
                    -NoMask, diagonal);
            if (!target.Dk.IsEmpty) // dK (Lc, D) += dSᵀ (Lc, R) · Q (R, D)
                AccumulateProduct<TV>(target.Dk[(j0 * target.DkStride)..], target.DkStride, scoreGrads, 1, width,
                    queries, ts, blockKeys, rows, depth, 1 - diagonal, NoMask);
        }
    }
}
