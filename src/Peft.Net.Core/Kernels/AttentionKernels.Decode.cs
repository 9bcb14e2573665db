using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

// A decode step's attention: one query row per head, keys and values with time before heads (B, Tk, Hkv, D), as a KV
// cache holds them. The per-head tile (ForwardTile) walks one head's D floats of every key row, H·D floats apart,
// and then the next head's: eight strided walks over a cache that the weight stream has just pushed out to memory.
// Here a work item takes a range of kv heads and walks the key rows (then the value rows) once, in order, doing
// every head of the range at each row: one sequential stream, which the prefetchers keep ahead of.
internal static partial class AttentionKernels
{
    /// <summary>
    /// Key (and value) rows ahead of the one being read that <see cref="DecodeItem{TV}"/> asks for: 4 rows of
    /// Hkv·D floats (8 KB for 8 heads of 64), as the matrix-vector kernel asks for its weights.
    /// </summary>
    private const int DecodePrefetchRows = 4;

    /// <summary>
    /// Whether a decode step walks the key and value rows once for a range of heads (<see cref="DecodeItem{TV}"/>; on).
    /// Tests and benchmarks turn it off to compare with the per-head tiles; it moves no result.
    /// </summary>
    internal static bool HeadRangeDecode = true;

    /// <summary>Decode steps run through <see cref="DecodeItem{TV}"/> so far (once per call): tests check the path ran.</summary>
    internal static long HeadRangeDecodeRuns;

    /// <summary>
    /// Whether <see cref="Forward"/> runs <paramref name="shape"/> as a decode step through <see cref="DecodeItem{TV}"/>:
    /// one query row per head, with time before heads, so a head's key rows lie H·D floats apart.
    /// </summary>
    private static bool IsDecodeStep(AttentionShape shape) =>
        shape.QueryLength == 1 && shape.Layout == AttentionLayout.BatchTimeHeads && shape.KvHeads > 1 && HeadRangeDecode;

    /// <summary>
    /// Work items of a decode step: per batch row, the kv heads cut into this many ranges, so that
    /// <paramref name="threads"/> threads all get work when the batch is smaller than the thread count.
    /// </summary>
    private static int DecodeHeadRanges(AttentionShape shape, int threads) =>
        Math.Clamp(CeilDiv(threads, Math.Max(1, shape.Batch)), 1, shape.KvHeads);

    // q, output: (B, 1, H, D)    k, v: (B, Tk, Hkv, D)    logSumExp: (B, H, 1)
    // Item = (batch row b, range r of the kv heads): kv heads [g0, g1), query heads [g0·group, g1·group).
    // Each query head gets exactly the operations of ForwardTile with one row and the key rows in place (the scores of
    // ScoreRowInPlace, the online softmax per block of KeyBlock keys, the sums of AccumulateRow in key order), so the
    // bits are those of the per-head path.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeItem<TV>(ForwardWork<TV> work, int item)
        where TV : struct, IFloatVector<TV>
    {
        var shape = work.Shape;
        int ranges = work.Splits, b = item / ranges, range = item % ranges;
        int g0 = range * shape.KvHeads / ranges, g1 = (range + 1) * shape.KvHeads / ranges;
        int group = shape.Group, heads = (g1 - g0) * group, depth = shape.HeadDim, ld = shape.KeyRowStride;
        int headOffset = shape.KvHeadOffset(b * shape.KvHeads + g0);   // key row 0 of kv head g0
        int queryOffset = shape.QueryHeadOffset(b * shape.Heads + g0 * group); // query head g0·group; heads D apart
        int keyEnd = shape.KeyEnd(0);

        var scratch = Scratch(heads * (KeyBlock + 2 + depth % TV.Count));
        var scores = scratch.AsSpan(0, heads * KeyBlock);             // (heads, Bc): S, then P
        var rowMax = scratch.AsSpan(heads * KeyBlock, heads);
        var rowSum = scratch.AsSpan(heads * KeyBlock + heads, heads);
        var tailSums = scratch.AsSpan(heads * (KeyBlock + 2));         // (heads, D mod W): AccumulateRow's scalar tail
        rowMax.Fill(float.NegativeInfinity);
        rowSum.Clear();
        var output = work.Output.Span.Slice(queryOffset, heads * depth);
        output.Clear();
        ReadOnlySpan<float> q = work.Q.Span.Slice(queryOffset, heads * depth);
        ReadOnlySpan<float> keys = work.K.Span[headOffset..], values = work.V.Span[headOffset..];
        // Query head h of the range reads the D floats at column (h / group)·D of a key or value row.
        Span<int> columns = heads <= 256 ? stackalloc int[heads] : new int[heads];
        for (int h = 0; h < heads; h++) columns[h] = h / group * depth;

        for (int j0 = 0; j0 < keyEnd; j0 += KeyBlock)
        {
            int blockKeys = Math.Min(KeyBlock, keyEnd - j0);
            DecodeScores<TV>(q, keys[(j0 * ld)..], ld, blockKeys, keyEnd - j0, columns, depth, shape.Scale, scores);
            for (int h = 0; h < heads; h++)
                OnlineSoftmaxBlock<TV>(scores.Slice(h * KeyBlock, blockKeys), ref rowMax[h], ref rowSum[h], output.Slice(h * depth, depth));
            DecodeAccumulate<TV>(output, scores, values[(j0 * ld)..], ld, blockKeys, keyEnd - j0, columns, depth, tailSums);
        }

        var lse = work.LogSumExp.Span.Slice(b * shape.Heads + g0 * group, heads);
        for (int h = 0; h < heads; h++)
        {
            var o = output.Slice(h * depth, depth);
            TensorPrimitives.Multiply(o, 1f / rowSum[h], o);
            lse[h] = rowMax[h] + MathF.Log(rowSum[h]);
        }
    }

    // q: (heads, D)    keys: (count, Hkv·D) rows ld apart, query head h's kv head at column columns[h]; rowsLeft ≥ count
    // rows readable    scores: (heads, Bc)
    /// <summary>
    /// scores[h, c] = alpha · q[h]·keys[c, columns[h] ..] for every query head of the range, four key rows at a time
    /// (each head's four dot products on independent chains, its query vector loaded once for the four); each score
    /// summed as <see cref="ScoreRowInPlace{TV}"/> sums it: one vector accumulator over D, its sum, the scalar D tail,
    /// then alpha.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeScores<TV>(ReadOnlySpan<float> q, ReadOnlySpan<float> keys, int ld, int count, int rowsLeft,
        ReadOnlySpan<int> columns, int depth, float alpha, Span<float> scores)
        where TV : struct, IFloatVector<TV>
    {
        ref float q0 = ref MemoryMarshal.GetReference(q);
        ref float k0 = ref MemoryMarshal.GetReference(keys);
        ref float s0 = ref MemoryMarshal.GetReference(scores);
        int heads = columns.Length, rowFloats = columns[^1] + depth, c = 0; // rowFloats: this range's floats of a row
        for (; c + 4 <= count; c += 4)
        {
            ref float rows = ref Unsafe.Add(ref k0, c * ld);
            PrefetchRows(ref rows, ld, c, rowsLeft, rowFloats);
            for (int h = 0; h < heads; h++)
            {
                ref float key = ref Unsafe.Add(ref rows, columns[h]);
                DotFourRows<TV>(ref Unsafe.Add(ref q0, h * depth), ref key, ld, depth, out float ra, out float rb, out float rc, out float rd);
                ref float score = ref Unsafe.Add(ref s0, h * KeyBlock + c);
                score = alpha * ra;
                Unsafe.Add(ref score, 1) = alpha * rb;
                Unsafe.Add(ref score, 2) = alpha * rc;
                Unsafe.Add(ref score, 3) = alpha * rd;
            }
        }
        for (; c < count; c++)
        {
            ref float row = ref Unsafe.Add(ref k0, c * ld);
            for (int h = 0; h < heads; h++)
                Unsafe.Add(ref s0, h * KeyBlock + c) = alpha * Dot<TV>(ref Unsafe.Add(ref q0, h * depth), ref Unsafe.Add(ref row, columns[h]), depth);
        }
    }

    // q: (D)    keys: four rows of D, ld apart
    /// <summary>
    /// Four dot products of one query row with four key rows, each as <see cref="Dot{TV}"/> computes it, on four
    /// independent chains that share each loaded query vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotFourRows<TV>(ref float q, ref float keys, nint ld, int depth,
        out float ra, out float rb, out float rc, out float rd)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, d = 0;
        ref float kb = ref Unsafe.Add(ref keys, ld);
        ref float kc = ref Unsafe.Add(ref kb, ld);
        ref float kd = ref Unsafe.Add(ref kc, ld);
        TV sa = TV.Zero, sb = TV.Zero, sc = TV.Zero, sd = TV.Zero;
        for (; d + w <= depth; d += w)
        {
            TV x = TV.Load(ref Unsafe.Add(ref q, d));
            sa = TV.FusedMultiplyAdd(x, TV.Load(ref Unsafe.Add(ref keys, d)), sa);
            sb = TV.FusedMultiplyAdd(x, TV.Load(ref Unsafe.Add(ref kb, d)), sb);
            sc = TV.FusedMultiplyAdd(x, TV.Load(ref Unsafe.Add(ref kc, d)), sc);
            sd = TV.FusedMultiplyAdd(x, TV.Load(ref Unsafe.Add(ref kd, d)), sd);
        }
        SumFour(sa, sb, sc, sd, out ra, out rb, out rc, out rd);
        for (; d < depth; d++)
        {
            float x = Unsafe.Add(ref q, d);
            ra += x * Unsafe.Add(ref keys, d);
            rb += x * Unsafe.Add(ref kb, d);
            rc += x * Unsafe.Add(ref kc, d);
            rd += x * Unsafe.Add(ref kd, d);
        }
    }

    /// <summary>
    /// The four sums <see cref="IFloatVector{TSelf}.Sum"/> gives. At 8 floats with AVX, three horizontal adds and one
    /// add of the halves give each lane the tree of <c>Vector256.Sum</c>, ((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 +
    /// x7)), for four vectors at once (the runtime's sum takes about eleven instructions for each).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void SumFour<TV>(TV a, TV b, TV c, TV d, out float ra, out float rb, out float rc, out float rd)
        where TV : struct, IFloatVector<TV>
    {
        if (typeof(TV) == typeof(FloatVector256) && Vector256.IsHardwareAccelerated && Avx.IsSupported)
        {
            Vector256<float> ab = Avx.HorizontalAdd(Unsafe.As<TV, FloatVector256>(ref a), Unsafe.As<TV, FloatVector256>(ref b));
            Vector256<float> cd = Avx.HorizontalAdd(Unsafe.As<TV, FloatVector256>(ref c), Unsafe.As<TV, FloatVector256>(ref d));
            Vector256<float> abcd = Avx.HorizontalAdd(ab, cd); // lanes 0–3: a, b, c, d's low-half trees; 4–7: high halves
            Vector128<float> sums = abcd.GetLower() + abcd.GetUpper();
            ra = sums.ToScalar();
            rb = sums.GetElement(1);
            rc = sums.GetElement(2);
            rd = sums.GetElement(3);
            return;
        }
        ra = TV.Sum(a);
        rb = TV.Sum(b);
        rc = TV.Sum(c);
        rd = TV.Sum(d);
    }

    /// <summary>q·k over D: one vector accumulator, its sum, then the scalar D tail (every in-place score is summed so).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<TV>(ref float q, ref float k, int depth)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, d = 0;
        TV sum = TV.Zero;
        for (; d + w <= depth; d += w)
            sum = TV.FusedMultiplyAdd(TV.Load(ref Unsafe.Add(ref q, d)), TV.Load(ref Unsafe.Add(ref k, d)), sum);
        float score = TV.Sum(sum);
        for (; d < depth; d++) score += Unsafe.Add(ref q, d) * Unsafe.Add(ref k, d);
        return score;
    }

    // output: (heads, D)    p: (heads, Bc)    values: (count, Hkv·D) rows ld apart, query head h's kv head at column
    // columns[h]; rowsLeft ≥ count rows readable    tailSums: (heads, D mod W)
    /// <summary>
    /// output[h] += Σ_c p[h, c]·values[c, columns[h] ..] for every query head of the range, four value rows per pass
    /// over the outputs: each element gets <see cref="AccumulateRow{TV}"/>'s multiply-adds in the same key order (its
    /// scalar D tail summed apart over the block and then added, as there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeAccumulate<TV>(Span<float> output, ReadOnlySpan<float> p, ReadOnlySpan<float> values, int ld,
        int count, int rowsLeft, ReadOnlySpan<int> columns, int depth, Span<float> tailSums)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, vectorDepth = depth - depth % w, tail = depth - vectorDepth;
        ref float o0 = ref MemoryMarshal.GetReference(output);
        ref float p0 = ref MemoryMarshal.GetReference(p);
        ref float v0 = ref MemoryMarshal.GetReference(values);
        int heads = columns.Length, rowFloats = columns[^1] + depth, c = 0;
        nint step = ld;
        tailSums.Clear();
        for (; c + 4 <= count; c += 4)
        {
            ref float rows = ref Unsafe.Add(ref v0, c * ld);
            PrefetchRows(ref rows, ld, c, rowsLeft, rowFloats);
            for (int h = 0; h < heads; h++)
            {
                ref float ph = ref Unsafe.Add(ref p0, h * KeyBlock + c);
                TV ya = TV.Create(ph), yb = TV.Create(Unsafe.Add(ref ph, 1));
                TV yc = TV.Create(Unsafe.Add(ref ph, 2)), yd = TV.Create(Unsafe.Add(ref ph, 3));
                ref float o = ref Unsafe.Add(ref o0, h * depth);
                ref float xa = ref Unsafe.Add(ref rows, columns[h]);
                ref float xb = ref Unsafe.Add(ref xa, step);
                ref float xc = ref Unsafe.Add(ref xb, step);
                ref float xd = ref Unsafe.Add(ref xc, step);
                for (int d = 0; d < vectorDepth; d += w)
                {
                    TV r = TV.MultiplyAdd(ya, TV.Load(ref Unsafe.Add(ref xa, d)), TV.Load(ref Unsafe.Add(ref o, d)));
                    r = TV.MultiplyAdd(yb, TV.Load(ref Unsafe.Add(ref xb, d)), r);
                    r = TV.MultiplyAdd(yc, TV.Load(ref Unsafe.Add(ref xc, d)), r);
                    TV.Store(TV.MultiplyAdd(yd, TV.Load(ref Unsafe.Add(ref xd, d)), r), ref Unsafe.Add(ref o, d));
                }
                for (int t = 0; t < tail; t++)
                {
                    ref float sum = ref tailSums[h * tail + t];
                    sum += ph * Unsafe.Add(ref xa, vectorDepth + t);
                    sum += Unsafe.Add(ref ph, 1) * Unsafe.Add(ref xb, vectorDepth + t);
                    sum += Unsafe.Add(ref ph, 2) * Unsafe.Add(ref xc, vectorDepth + t);
                    sum += Unsafe.Add(ref ph, 3) * Unsafe.Add(ref xd, vectorDepth + t);
                }
            }
        }
        for (; c < count; c++)
        {
            ref float row = ref Unsafe.Add(ref v0, c * ld);
            for (int h = 0; h < heads; h++)
            {
                float ph = Unsafe.Add(ref p0, h * KeyBlock + c);
                TV y = TV.Create(ph);
                ref float o = ref Unsafe.Add(ref o0, h * depth);
                ref float x = ref Unsafe.Add(ref row, columns[h]);
                for (int d = 0; d < vectorDepth; d += w)
                    TV.Store(TV.MultiplyAdd(y, TV.Load(ref Unsafe.Add(ref x, d)), TV.Load(ref Unsafe.Add(ref o, d))), ref Unsafe.Add(ref o, d));
                for (int t = 0; t < tail; t++)
                    tailSums[h * tail + t] += ph * Unsafe.Add(ref x, vectorDepth + t);
            }
        }
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < tail; t++)
                Unsafe.Add(ref o0, h * depth + vectorDepth + t) += tailSums[h * tail + t];
    }

    // rows: row c of (rowsLeft, ld) at its first float of this range
    /// <summary>
    /// Asks for the four rows <see cref="DecodePrefetchRows"/> past rows c .. c + 3 (those that exist), the
    /// <paramref name="rowFloats"/> floats of each that the range reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRows(ref float rows, int ld, int c, int rowsLeft, int rowFloats)
    {
        for (int i = DecodePrefetchRows; i < DecodePrefetchRows + 4 && c + i < rowsLeft; i++)
            PrefetchRow(ref Unsafe.Add(ref rows, i * ld), rowFloats);
    }

    /// <summary>Asks for the cache lines of <paramref name="floats"/> floats from <paramref name="start"/> (x86 only; a hint that cannot fault).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchRow(ref float start, int floats)
    {
        if (!Sse.IsSupported) return;
        float* address = (float*)Unsafe.AsPointer(ref start);
        for (int f = 0; f < floats; f += 16) Sse.PrefetchNonTemporal(address + f);
    }
}
