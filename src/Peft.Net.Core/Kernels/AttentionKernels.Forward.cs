using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

internal static partial class AttentionKernels
{
    // q: (B, H, Tq, D)  k, v: (B, Hkv, Tk, D)  output: (B, H, Tq, D)  logSumExp: (B, H, Tq)
    /// <summary>
    /// output = softmax(q·kᵀ·scale + mask)·v, written (not accumulated), and logSumExp[row] =
    /// log Σ_j exp(s_row,j) over the keys the row sees: all the backward pass needs besides the inputs.
    /// Work items are (batch, head, query tile), spread over up to <paramref name="threads"/> threads
    /// (0: one per processor).
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
        int tiles = CeilDiv(shape.QueryLength, QueryTile);
        long work = 2L * shape.RowCount * shape.KeyLength * shape.HeadDim;
        ForEach(shape.Batch * shape.Heads * tiles, ThreadCount(threads, work), item =>
            ForwardTile<TV>(q.Span, k.Span, v.Span, output.Span, logSumExp.Span, shape, item / tiles, item % tiles * QueryTile));
    }

    // One query tile of one head: rows i0 .. i0 + R of q[b, h] (R ≤ Br) against k[b, h / group], v[b, h / group].
    // Per key block: S (R, Lc) = scale·Q·Kᵀ; per row m' = max(m, max S), P = exp(S − m'), l = l·e^(m − m') + Σ P,
    // O ← O·e^(m − m') + P·V. At the end O /= l, lse = m + log l.
    private static void ForwardTile<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, Span<float> logSumExp, AttentionShape shape, int bh, int i0)
        where TV : struct, IFloatVector<TV>
    {
        int depth = shape.HeadDim, rows = Math.Min(QueryTile, shape.QueryLength - i0);
        int queryOffset = shape.QueryHeadOffset(bh) + i0 * depth, keyOffset = shape.KeyHeadOffset(bh);
        var queries = q.Slice(queryOffset, rows * depth);                           // (R, D)
        var keys = k.Slice(keyOffset, shape.KeyLength * depth);                     // (Tk, D)
        var values = v.Slice(keyOffset, shape.KeyLength * depth);                   // (Tk, D)
        var result = output.Slice(queryOffset, rows * depth);                       // (R, D), the running O
        var scratch = Scratch(QueryTile * KeyBlock + depth * KeyBlock + 2 * QueryTile);
        var scores = scratch.AsSpan(0, QueryTile * KeyBlock);                       // (R, Lc): S, then P
        var keysT = scratch.AsSpan(QueryTile * KeyBlock, depth * KeyBlock);         // (D, Lc)
        var rowMax = scratch.AsSpan(QueryTile * KeyBlock + depth * KeyBlock, rows); // m (R)
        var rowSum = scratch.AsSpan(QueryTile * KeyBlock + depth * KeyBlock + QueryTile, rows); // l (R)
        rowMax.Fill(float.NegativeInfinity);
        rowSum.Clear();
        result.Clear();

        int keyEnd = shape.KeyEnd(i0 + rows - 1);
        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int blockKeys = Math.Min(KeyBlock, keyEnd - j0);
            int width = RoundUp(blockKeys, 2 * TV.Count);
            PackTransposed(keys.Slice(j0 * depth, blockKeys * depth), blockKeys, depth, keysT, width);
            ScorePanel<TV>(queries, depth, keysT, scores, rows, depth, width, shape.Scale);
            for (int r = 0; r < rows; r++)
            {
                var row = scores.Slice(r * width, width);
                int visible = Math.Min(blockKeys, shape.KeyEnd(i0 + r) - j0);
                if (visible <= 0)
                {
                    row.Clear(); // the whole block lies past this row's diagonal
                    continue;
                }
                var p = row[..visible];
                float max = Math.Max(rowMax[r], TensorPrimitives.Max(p));
                TensorPrimitives.Subtract(p, max, p);
                TensorPrimitives.Exp(p, p);
                row[visible..].Clear();
                float correction = MathF.Exp(rowMax[r] - max); // 0 on the row's first block (m = −∞)
                rowSum[r] = rowSum[r] * correction + TensorPrimitives.Sum(p);
                rowMax[r] = max;
                if (correction != 1f)
                {
                    var o = result.Slice(r * depth, depth);
                    TensorPrimitives.Multiply(o, correction, o);
                }
            }
            AccumulateProduct<TV>(result, depth, scores, width, 1, values.Slice(j0 * depth, blockKeys * depth), depth,
                rows, blockKeys, depth);
        }

        var lse = logSumExp.Slice(bh * shape.QueryLength + i0, rows);
        for (int r = 0; r < rows; r++)
        {
            var o = result.Slice(r * depth, depth);
            TensorPrimitives.Multiply(o, 1f / rowSum[r], o);
            lse[r] = rowMax[r] + MathF.Log(rowSum[r]);
        }
    }
}
