using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Attention;

/// <summary>
/// A decode step (one query row per head, keys and values time before heads, as a KV cache holds them) walks the key
/// and value rows once for a range of heads (<see cref="AttentionKernels.HeadRangeDecode"/>): the bits of the per-head
/// tiles at every register width and thread count, for grouped heads, odd head sizes and keys over several blocks.
/// </summary>
public class DecodeAttentionTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    public static TheoryData<int, int, int, int, int, bool> Shapes() => new()
    {
        // B, H, Hkv, Tk, D, causal
        { 1, 8, 8, 192, 64, true },   // the bench decode shape: 8 heads of 64, three key blocks
        { 1, 8, 8, 1, 64, true },     // the first generated token after a one-token prompt
        { 2, 8, 2, 130, 16, true },   // four query heads per kv head, a partial last block
        { 3, 6, 3, 64, 33, false },   // an odd head size (vector and scalar D tails), one whole block, no mask
        { 1, 4, 2, 200, 5, true },    // a head smaller than every register width: scalar tails only
        { 2, 12, 4, 65, 40, true },   // more kv heads than threads, 40 = 32 + 8 floats
        { 4, 2, 2, 70, 128, false },  // a batch larger than the thread count, wide heads
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Head_ranges_give_the_bits_of_the_per_head_tiles(int b, int h, int hkv, int tk, int d, bool causal)
    {
        var shape = new AttentionShape(b, h, hkv, 1, tk, d, causal, 0.9f / MathF.Sqrt(d), AttentionLayout.BatchTimeHeads);
        var random = new TensorRandom((ulong)(b * 10_000 + h * 1000 + tk * 10 + d));
        // Scores spread over several units, so the online softmax rescales the running sums between blocks.
        float[] q = Tensor.Normal([shape.QueryCount], 0, 2, random).ToArray();
        float[] k = Tensor.Normal([shape.KeyCount], 0, 2, random).ToArray();
        float[] v = Tensor.Normal([shape.KeyCount], 0, 1, random).ToArray();
        var headsFirst = shape with { Layout = AttentionLayout.BatchHeadsTime };
        var expected = new float[shape.QueryCount];
        AttentionReference.Forward(q, SwapTimeAndHeads(k, b, tk, hkv, d), SwapTimeAndHeads(v, b, tk, hkv, d), expected, headsFirst);

        foreach (var width in Widths)
        foreach (int threads in new[] { 1, 2, 3, 5 })
        {
            string what = $"{shape} {width} threads={threads}";
            var (perHead, perHeadLse) = Run(q, k, v, shape, width, threads, headRanges: false);
            long before = Interlocked.Read(ref AttentionKernels.HeadRangeDecodeRuns);
            var (ranges, rangesLse) = Run(q, k, v, shape, width, threads, headRanges: true);
            Assert.True(Interlocked.Read(ref AttentionKernels.HeadRangeDecodeRuns) > before, what + ": the head-range path did not run");
            TensorAssert.BitEqual(perHead, ranges, what + " output");
            TensorAssert.BitEqual(perHeadLse, rangesLse, what + " log-sum-exp");
            TensorAssert.CloseToScale(expected, ranges, 1e-5, what + " against the reference");
        }
    }

    private static (float[] Output, float[] LogSumExp) Run(float[] q, float[] k, float[] v, AttentionShape shape,
        SimdWidth width, int threads, bool headRanges)
    {
        var output = new float[shape.QueryCount];
        var logSumExp = new float[shape.RowCount];
        try
        {
            AttentionKernels.HeadRangeDecode = headRanges;
            AttentionKernels.Forward(q, k, v, output, logSumExp, shape, width, threads);
        }
        finally
        {
            AttentionKernels.HeadRangeDecode = true;
        }
        return (output, logSumExp);
    }

    // x: (B, Tk, Hkv, D) → (B, Hkv, Tk, D)
    private static float[] SwapTimeAndHeads(float[] x, int b, int tk, int hkv, int d)
    {
        var result = new float[x.Length];
        for (int n = 0; n < b; n++)
        for (int t = 0; t < tk; t++)
        for (int g = 0; g < hkv; g++)
            x.AsSpan(((n * tk + t) * hkv + g) * d, d).CopyTo(result.AsSpan(((n * hkv + g) * tk + t) * d, d));
        return result;
    }
}
