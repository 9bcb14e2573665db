using Peft.Net.Core.Kernels;
using Peft.Net.Core.Kernels.Simd;
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
        AttentionReference.Forward(q, AttentionLayoutTests.SwapMiddle(k, b, tk, hkv, d), AttentionLayoutTests.SwapMiddle(v, b, tk, hkv, d), expected, headsFirst);

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

    [Fact]
    public void Four_sums_at_once_give_the_bits_of_four_separate_sums_at_every_width()
    {
        // The in-place scores sum four accumulators at once (three horizontal adds at 8 floats); each must keep the
        // reduction tree of the width's own Sum. Magnitudes over six decades make a different tree round differently.
        var random = new TensorRandom(11);
        AssertSumFour<FloatScalar>(random);
        AssertSumFour<FloatVector128>(random);
        AssertSumFour<FloatVector256>(random);
        AssertSumFour<FloatVector512>(random);
    }

    private static void AssertSumFour<TV>(TensorRandom random)
        where TV : struct, IFloatVector<TV>
    {
        int w = TV.Count, differingTrees = 0;
        for (int trial = 0; trial < 2000; trial++)
        {
            var x = new float[4 * w];
            for (int i = 0; i < x.Length; i++)
                x[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(10, 6 * random.NextDouble() - 3));
            TV a = TV.Load(ref x[0]), b = TV.Load(ref x[w]), c = TV.Load(ref x[2 * w]), d = TV.Load(ref x[3 * w]);
            AttentionKernels.SumFour(a, b, c, d, out float ra, out float rb, out float rc, out float rd);
            float[] expected = [TV.Sum(a), TV.Sum(b), TV.Sum(c), TV.Sum(d)], actual = [ra, rb, rc, rd];
            TensorAssert.BitEqual(expected, actual, $"{typeof(TV).Name} trial {trial}");
            float leftToRight = 0;
            for (int i = 0; i < w; i++) leftToRight += x[i];
            if (BitConverter.SingleToInt32Bits(leftToRight) != BitConverter.SingleToInt32Bits(ra)) differingTrees++;
        }
        // The data can tell trees apart: a plain left-to-right sum differs from the vector tree in many trials.
        if (w >= 4) Assert.True(differingTrees > 100, $"{typeof(TV).Name}: only {differingTrees} of 2000 trials tell the trees apart");
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
}
