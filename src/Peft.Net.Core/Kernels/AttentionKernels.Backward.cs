using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static partial class AttentionKernels
{
    // q, output, dOutput, dq: (B, H, Tq, D)  k, v, dk, dv: (B, Hkv, Tk, D)  logSumExp: (B, H, Tq)
    /// <summary>
    /// Accumulates (+=) the gradients of <see cref="Forward"/> from dOutput, recomputing the probabilities
    /// block by block (FlashAttention-2): P = exp(S − lse), dV += Pᵀ·dO, dP = dO·Vᵀ,
    /// dS = P ∘ (dP − Δ) with Δ_i = rowsum(dO ∘ O)_i, dQ += scale·dS·K, dK += scale·dSᵀ·Q; dK and dV sum over the
    /// query heads of a group. An empty gradient buffer is skipped.
    /// </summary>
    /// <remarks>
    /// A work item owns one kv head (b, g): its dK and dV rows and the dQ rows of its query heads, so no two
    /// threads write the same element. When there are fewer kv heads than threads, each head's (query head,
    /// query tile) units are dealt to several items that sum dK/dV into their own partial buffers.
    /// </remarks>
    /// <exception cref="ArgumentException">The shape is invalid or a buffer has the wrong length.</exception>
    public static void Backward(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        ReadOnlyMemory<float> output, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<float> dOutput,
        Memory<float> dq, Memory<float> dk, Memory<float> dv, AttentionShape shape, SimdWidth width = SimdWidth.Auto,
        int threads = 0)
    {
        shape.Validate();
        if (q.Length != shape.QueryCount || output.Length != shape.QueryCount || dOutput.Length != shape.QueryCount
            || k.Length != shape.KeyCount || v.Length != shape.KeyCount || logSumExp.Length != shape.RowCount)
            throw new ArgumentException($"Attention buffers q {q.Length}, k {k.Length}, v {v.Length}, output {output.Length}, log-sum-exp {logSumExp.Length}, dOutput {dOutput.Length} do not fit {shape}.");
        if (!dq.IsEmpty && dq.Length != shape.QueryCount || !dk.IsEmpty && dk.Length != shape.KeyCount
            || !dv.IsEmpty && dv.Length != shape.KeyCount)
            throw new ArgumentException($"Attention gradient buffers dq {dq.Length}, dk {dk.Length}, dv {dv.Length} do not fit {shape}.");
        if (shape.QueryCount == 0) return;
        switch (ResolveWidth(width, shape.HeadDim))
        {
            case SimdWidth.Vector512: Backward<FloatVector512>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads); break;
            case SimdWidth.Vector256: Backward<FloatVector256>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads); break;
            case SimdWidth.Vector128: Backward<FloatVector128>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads); break;
            default: Backward<FloatScalar>(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape, threads); break;
        }
    }

    private static void Backward<TV>(ReadOnlyMemory<float> q, ReadOnlyMemory<float> k, ReadOnlyMemory<float> v,
        ReadOnlyMemory<float> output, ReadOnlyMemory<float> logSumExp, ReadOnlyMemory<float> dOutput,
        Memory<float> dq, Memory<float> dk, Memory<float> dv, AttentionShape shape, int threads)
        where TV : struct, IFloatVector<TV>
    {
        int tiles = CeilDiv(shape.QueryLength, QueryTile);
        int units = shape.Group * tiles;              // (query head of the group, query tile) pairs per kv head
        int kvHeads = shape.Batch * shape.KvHeads;
        int headSize = shape.KeyLength * shape.HeadDim;
        int threadCount = ThreadCount(threads, 5L * shape.RowCount * shape.KeyLength * shape.HeadDim);
        int splits = threadCount == 1 || kvHeads >= 2 * threadCount ? 1 : Math.Min(units, CeilDiv(2 * threadCount, kvHeads));
        // With several splits per kv head each keeps its own dK/dV, summed below; one split writes in place.
        var partialK = splits > 1 && !dk.IsEmpty ? new float[kvHeads * splits * headSize] : null;
        var partialV = splits > 1 && !dv.IsEmpty ? new float[kvHeads * splits * headSize] : null;

        ForEach(kvHeads * splits, threadCount, item =>
        {
            int kvHead = item / splits, split = item % splits;
            int b = kvHead / shape.KvHeads, g = kvHead % shape.KvHeads;
            var dkHead = dk.IsEmpty ? default : partialK is null ? dk.Span.Slice(kvHead * headSize, headSize) : partialK.AsSpan(item * headSize, headSize);
            var dvHead = dv.IsEmpty ? default : partialV is null ? dv.Span.Slice(kvHead * headSize, headSize) : partialV.AsSpan(item * headSize, headSize);
            for (int unit = split; unit < units; unit += splits) // strided, so causal tiles of every length mix
            {
                int bh = b * shape.Heads + g * shape.Group + unit / tiles;
                BackwardTile<TV>(q.Span, k.Span, v.Span, output.Span, logSumExp.Span, dOutput.Span, dq.Span,
                    dkHead, dvHead, shape, bh, unit % tiles * QueryTile);
            }
        });

        for (int kvHead = 0; kvHead < kvHeads && splits > 1; kvHead++)
        for (int split = 0; split < splits; split++)
        {
            int partial = (kvHead * splits + split) * headSize;
            if (partialK is not null)
            {
                var target = dk.Span.Slice(kvHead * headSize, headSize);
                TensorPrimitives.Add(target, partialK.AsSpan(partial, headSize), target);
            }
            if (partialV is not null)
            {
                var target = dv.Span.Slice(kvHead * headSize, headSize);
                TensorPrimitives.Add(target, partialV.AsSpan(partial, headSize), target);
            }
        }
    }

    // One query tile of one head: rows i0 .. i0 + R of head bh = b·H + h.
    // dq: (B, H, Tq, D) or empty    dkHead, dvHead: (Tk, D) of kv head h / group, or empty
    private static void BackwardTile<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> output, ReadOnlySpan<float> logSumExp, ReadOnlySpan<float> dOutput, Span<float> dq,
        Span<float> dkHead, Span<float> dvHead, AttentionShape shape, int bh, int i0)
        where TV : struct, IFloatVector<TV>
    {
        int depth = shape.HeadDim, rows = Math.Min(QueryTile, shape.QueryLength - i0);
        int queryOffset = shape.QueryHeadOffset(bh) + i0 * depth, keyOffset = shape.KeyHeadOffset(bh);
        var queries = q.Slice(queryOffset, rows * depth);                          // (R, D)
        var outputs = output.Slice(queryOffset, rows * depth);                     // (R, D)
        var outputGrads = dOutput.Slice(queryOffset, rows * depth);                // (R, D)
        var queryGrads = dq.IsEmpty ? default : dq.Slice(queryOffset, rows * depth); // (R, D)
        var keys = k.Slice(keyOffset, shape.KeyLength * depth);                    // (Tk, D)
        var values = v.Slice(keyOffset, shape.KeyLength * depth);                  // (Tk, D)
        var lse = logSumExp.Slice(bh * shape.QueryLength + i0, rows);              // (R)
        int block = QueryTile * KeyBlock, panel = depth * KeyBlock;
        var scratch = Scratch(2 * block + 2 * panel + QueryTile);
        var probabilities = scratch.AsSpan(0, block);                              // (R, Lc): S, then P
        var scoreGrads = scratch.AsSpan(block, block);                             // (R, Lc): dP, then dS
        var keysT = scratch.AsSpan(2 * block, panel);                              // (D, Lc)
        var valuesT = scratch.AsSpan(2 * block + panel, panel);                    // (D, Lc)
        var delta = scratch.AsSpan(2 * block + 2 * panel, rows);                   // Δ (R)
        for (int r = 0; r < rows; r++)
            delta[r] = TensorPrimitives.Dot(outputGrads.Slice(r * depth, depth), outputs.Slice(r * depth, depth));
        bool scoreGradNeeded = !queryGrads.IsEmpty || !dkHead.IsEmpty;

        int keyEnd = shape.KeyEnd(i0 + rows - 1);
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int blockKeys = Math.Min(KeyBlock, keyEnd - j0);
            int width = RoundUp(blockKeys, 2 * TV.Count);
            var blockKeyRows = keys.Slice(j0 * depth, blockKeys * depth);            // (Lc, D)
            PackTransposed(blockKeyRows, blockKeys, depth, keysT, width);
            ScorePanel<TV>(queries, depth, keysT, probabilities, rows, depth, width, shape.Scale);
            for (int r = 0; r < rows; r++)
            {
                var row = probabilities.Slice(r * width, width);
                int visible = Math.Clamp(shape.KeyEnd(i0 + r) - j0, 0, blockKeys);
                var p = row[..visible];
                TensorPrimitives.Subtract(p, lse[r], p);
                TensorPrimitives.Exp(p, p);
                row[visible..].Clear();
            }
            if (!dvHead.IsEmpty) // dV (Lc, D) += Pᵀ (Lc, R) · dO (R, D)
                AccumulateProduct<TV>(dvHead.Slice(j0 * depth, blockKeys * depth), depth, probabilities, 1, width,
                    outputGrads, depth, blockKeys, rows, depth);
            if (!scoreGradNeeded) continue;

            PackTransposed(values.Slice(j0 * depth, blockKeys * depth), blockKeys, depth, valuesT, width);
            ScorePanel<TV>(outputGrads, depth, valuesT, scoreGrads, rows, depth, width, 1f); // dP = dO·Vᵀ
            for (int r = 0; r < rows; r++)
            {
                var ds = scoreGrads.Slice(r * width, width);
                TensorPrimitives.Subtract(ds, delta[r], ds);
                TensorPrimitives.Multiply(ds, probabilities.Slice(r * width, width), ds);
                TensorPrimitives.Multiply(ds, shape.Scale, ds); // fold the scale of S into dS
            }
            if (!queryGrads.IsEmpty) // dQ (R, D) += dS (R, Lc) · K (Lc, D)
                AccumulateProduct<TV>(queryGrads, depth, scoreGrads, width, 1, blockKeyRows, depth, rows, blockKeys, depth);
            if (!dkHead.IsEmpty) // dK (Lc, D) += dSᵀ (Lc, R) · Q (R, D)
                AccumulateProduct<TV>(dkHead.Slice(j0 * depth, blockKeys * depth), depth, scoreGrads, 1, width,
                    queries, depth, blockKeys, rows, depth);
        }
    }
}
