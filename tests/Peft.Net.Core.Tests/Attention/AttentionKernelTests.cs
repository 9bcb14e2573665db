using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Attention;

/// <summary>The fused attention kernels against the naive reference, at every SIMD width.</summary>
public class AttentionKernelTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(32)]
    [InlineData(64)]
    [InlineData(65)]
    public void Fused_forward_and_backward_match_the_reference_over_lengths_group_ratios_and_masks(int headDim)
    {
        ulong seed = (ulong)headDim * 1000;
        foreach (int t in new[] { 1, 2, 15, 16, 17, 64, 100 })
        foreach (int ratio in new[] { 1, 2, 4 })
        {
            int cached = Math.Max(1, t / 3);
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(2, ratio, 1, t, t, headDim, true, 0.5f / MathF.Sqrt(headDim) + 0.1f), seed++));
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2 * ratio, 2, t, t, headDim, false, 1f / MathF.Sqrt(headDim)), seed++));
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2 * ratio, 2, cached, t, headDim, true, 1f / MathF.Sqrt(headDim)), seed++));
        }
    }

    [Fact]
    public void Fused_kernels_match_the_reference_for_every_simd_length_as_head_dim_and_as_key_length()
    {
        ulong seed = 100;
        foreach (int n in TensorAssert.SimdLengths)
        {
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2, 1, 3, 5, n, true, 0.3f), seed++));
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2, 1, Math.Min(3, n), n, 8, true, 0.3f), seed++));
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2, 2, Math.Min(2, n), n, 8, false, 0.3f), seed++));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(8)]
    public void Results_do_not_depend_on_the_thread_count_or_on_splitting_a_kv_head_across_threads(int threads)
    {
        // One kv head with 4 query heads and two query tiles: with several threads each kv head is split.
        AssertFusedMatches(Reference(new AttentionShape(1, 4, 1, 100, 100, 16, true, 0.25f), 7), SimdWidth.Auto, threads);
        AssertFusedMatches(Reference(new AttentionShape(3, 4, 2, 70, 90, 32, true, 0.2f), 8), SimdWidth.Auto, threads);
        AssertFusedMatches(Reference(new AttentionShape(2, 2, 2, 130, 130, 8, false, 0.3f), 9), SimdWidth.Auto, threads);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(96)] // eight registers of D and then four at 256 bits
    public void A_decode_step_that_reads_the_keys_in_place_matches_the_reference_over_several_key_blocks(int headDim)
    {
        // One query row per head scores the key rows in place (no packed Kᵀ): key lengths around and past the
        // 64-key block, grouped and plain heads, with and without the causal mask.
        ulong seed = 300 + (ulong)headDim;
        foreach (int keys in new[] { 1, 63, 64, 65, 200 })
        {
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(2, 4, 2, 1, keys, headDim, true, 1f / MathF.Sqrt(headDim)), seed++));
            AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 3, 3, 1, keys, headDim, false, 0.3f), seed++));
        }
    }

    [Theory]
    [InlineData(8)]
    [InlineData(16)]
    public void The_register_tiles_give_the_bits_of_the_generic_tiles(int floatsPerRegister)
    {
        var width = floatsPerRegister == 8 ? SimdWidth.Vector256 : SimdWidth.Vector512;
        // Where the CPU runs them (FMA for 8 floats, AVX-512 for 16), the score and accumulate tiles run on raw registers
        // (AttentionKernels.RegisterTiles.cs) instead of the generic IFloatVector code: the same multiply-adds in the
        // same order, so forward and backward results must be bit-identical. Head dims 64 and 96 take both tiles at
        // both widths, 48 both at 8 floats and the score tile only at 16, 40 the score tile only. Shapes: several query
        // tiles and key blocks, grouped heads, a key cache longer than the queries, both layouts. (A CPU without the
        // width's instructions runs the generic tiles both times: the 16-float case is emulated where AVX-512 is absent.)
        ulong seed = 500;
        foreach (int headDim in new[] { 64, 96, 48, 40 })
        foreach (var layout in new[] { AttentionLayout.BatchHeadsTime, AttentionLayout.BatchTimeHeads })
        foreach (var (queries, keys, causal) in new[] { (130, 130, true), (70, 150, true), (100, 90, false) })
        {
            var shape = new AttentionShape(2, 4, 2, queries, keys, headDim, causal, 1f / MathF.Sqrt(headDim), layout);
            var inputs = Reference(shape, seed++);
            var (output, lse, dq, dk, dv) = RunWithTiles(inputs, width, generic: false);
            var (output0, lse0, dq0, dk0, dv0) = RunWithTiles(inputs, width, generic: true);
            string what = $"{width} {shape}";
            TensorAssert.BitEqual(output0, output, what + " output");
            TensorAssert.BitEqual(lse0, lse, what + " log-sum-exp");
            TensorAssert.BitEqual(dq0, dq, what + " dq");
            TensorAssert.BitEqual(dk0, dk, what + " dk");
            TensorAssert.BitEqual(dv0, dv, what + " dv");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Written_gradients_give_the_bits_of_gradients_added_into_zeros(int threads)
    {
        // With overwrite the backward pass ignores what dq, dk and dv held: each work item zeroes the rows it owns
        // (a tile's dQ rows, a kv head's dK and dV rows, or, when few kv heads are split over items, every head's
        // rows before the partial sums go in) just before adding into them. Buffers full of NaN must come out
        // bit-identical to zero-filled buffers added into, with a buffer left out, for both layouts, split and
        // unsplit kv heads, causal and not, and a key cache longer than the queries.
        ulong seed = 900;
        foreach (var layout in new[] { AttentionLayout.BatchHeadsTime, AttentionLayout.BatchTimeHeads })
        foreach (var (batch, heads, kvHeads) in new[] { (1, 4, 1), (3, 4, 2), (2, 8, 8) })
        foreach (var (queries, keys, causal) in new[] { (130, 130, true), (70, 150, true), (40, 90, false) })
        foreach (int skipped in new[] { -1, 0, 1, 2 })
        {
            var shape = new AttentionShape(batch, heads, kvHeads, queries, keys, 16, causal, 0.25f, layout);
            var inputs = Reference(shape, seed++);
            var output = new float[shape.QueryCount];
            var logSumExp = new float[shape.RowCount];
            AttentionKernels.Forward(inputs.Q, inputs.K, inputs.V, output, logSumExp, shape, SimdWidth.Auto, threads);
            float[] Buffer(int index, int length, float fill) =>
                index == skipped ? [] : Enumerable.Repeat(fill, length).ToArray();
            float[] dq = Buffer(0, shape.QueryCount, 0f), dk = Buffer(1, shape.KeyCount, 0f), dv = Buffer(2, shape.KeyCount, 0f);
            AttentionKernels.Backward(inputs.Q, inputs.K, inputs.V, output, logSumExp, inputs.DOutput, dq, dk, dv,
                shape, SimdWidth.Auto, threads);
            float[] dqWritten = Buffer(0, shape.QueryCount, float.NaN), dkWritten = Buffer(1, shape.KeyCount, float.NaN);
            float[] dvWritten = Buffer(2, shape.KeyCount, float.NaN);
            AttentionKernels.Backward(inputs.Q, inputs.K, inputs.V, output, logSumExp, inputs.DOutput, dqWritten, dkWritten,
                dvWritten, shape, SimdWidth.Auto, threads, overwrite: true);
            string what = $"{shape} threads {threads} without {skipped}";
            TensorAssert.BitEqual(dq, dqWritten, what + " dq");
            TensorAssert.BitEqual(dk, dkWritten, what + " dk");
            TensorAssert.BitEqual(dv, dvWritten, what + " dv");
        }
        // No query at all: the keys' and values' written gradients are zeros.
        var empty = new AttentionShape(1, 2, 1, 0, 7, 16, false, 0.25f);
        float[] ones = Enumerable.Repeat(1f, empty.KeyCount).ToArray();
        float[] dkNone = Enumerable.Repeat(float.NaN, empty.KeyCount).ToArray(), dvNone = (float[])dkNone.Clone();
        AttentionKernels.Backward(Array.Empty<float>(), ones, ones, Array.Empty<float>(), Array.Empty<float>(), Array.Empty<float>(),
            Array.Empty<float>(), dkNone, dvNone, empty, SimdWidth.Auto, threads, overwrite: true);
        TensorAssert.BitEqual(new float[empty.KeyCount], dkNone, "dk without queries");
        TensorAssert.BitEqual(new float[empty.KeyCount], dvNone, "dv without queries");
    }

    [Fact]
    public void The_four_register_tiles_give_the_bits_of_the_two_register_tiles()
    {
        // With AVX-512 the 6-row tiles take four registers (64 floats of D, or 64 score columns) a pass and leave the
        // rest to the two-register tiles: the same multiply-adds per element in the same order. Head dims 64 (one wide
        // pass), 96 (a wide and a narrow pass) and 128 (two wide passes); key lengths that leave 64-column blocks
        // partly masked or short; both layouts. Where AVX-512 is absent the four-register tiles must not run.
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx512F.IsSupported, AttentionKernels.WideTilesRun);
        ulong seed = 700;
        foreach (int headDim in new[] { 64, 96, 128 })
        foreach (var layout in new[] { AttentionLayout.BatchHeadsTime, AttentionLayout.BatchTimeHeads })
        foreach (var (queries, keys, causal) in new[] { (130, 130, true), (70, 150, true), (100, 90, false) })
        {
            var shape = new AttentionShape(2, 4, 2, queries, keys, headDim, causal, 1f / MathF.Sqrt(headDim), layout);
            var inputs = Reference(shape, seed++);
            var wide = RunWithTiles(inputs, SimdWidth.Vector512, generic: false);
            AttentionKernels.UseNarrowTilesForTests = true;
            (float[] Output, float[] LogSumExp, float[] Dq, float[] Dk, float[] Dv) narrow;
            try
            {
                narrow = RunWithTiles(inputs, SimdWidth.Vector512, generic: false);
            }
            finally
            {
                AttentionKernels.UseNarrowTilesForTests = false;
            }
            string what = $"{shape}";
            TensorAssert.BitEqual(narrow.Output, wide.Output, what + " output");
            TensorAssert.BitEqual(narrow.LogSumExp, wide.LogSumExp, what + " log-sum-exp");
            TensorAssert.BitEqual(narrow.Dq, wide.Dq, what + " dq");
            TensorAssert.BitEqual(narrow.Dk, wide.Dk, what + " dk");
            TensorAssert.BitEqual(narrow.Dv, wide.Dv, what + " dv");
            TensorAssert.CloseToScale(inputs.Output, wide.Output, 1e-5, what + " output against the reference");
            TensorAssert.CloseToScale(inputs.Dq, wide.Dq, 1e-5, what + " dq against the reference");
        }
    }

    private static (float[] Output, float[] LogSumExp, float[] Dq, float[] Dk, float[] Dv) RunWithTiles(ReferenceCase inputs,
        SimdWidth width, bool generic)
    {
        var shape = inputs.Shape;
        AttentionKernels.UseGenericTilesForTests = generic;
        try
        {
            var output = new float[shape.QueryCount];
            var logSumExp = new float[shape.RowCount];
            AttentionKernels.Forward(inputs.Q, inputs.K, inputs.V, output, logSumExp, shape, width, 2);
            float[] dq = [.. inputs.DqStart], dk = [.. inputs.DkStart], dv = [.. inputs.DvStart];
            AttentionKernels.Backward(inputs.Q, inputs.K, inputs.V, output, logSumExp, inputs.DOutput, dq, dk, dv,
                shape, width, 2);
            return (output, logSumExp, dq, dk, dv);
        }
        finally
        {
            AttentionKernels.UseGenericTilesForTests = false;
        }
    }

    [Fact]
    public void Large_scores_stay_finite_and_match_the_reference()
    {
        // Scores in the thousands: exp without the running max would overflow to ∞ and give NaN. A float32 score
        // of ~5000 is only known to ~5e-4 (its ulp), which bounds how close any float32 kernel can come to the
        // double reference, hence the looser tolerance.
        AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 4, 2, 100, 100, 16, true, 1f), 21, magnitude: 20f), tolerance: 2e-3);
        AssertFusedMatchesAtEveryWidth(Reference(new AttentionShape(1, 2, 1, 33, 80, 16, false, 1f), 22, magnitude: 20f), tolerance: 2e-3);
        var shape = new AttentionShape(1, 1, 1, 4, 4, 2, true, 1f);
        float[] q = [1e4f, 0, -1e4f, 1e4f, 3e4f, -3e4f, 0, 1];
        float[] k = [1f, 0, 0, 1f, 1f, 1f, -1f, 0];
        float[] v = [1f, 2f, 3f, 4f, 5f, 6f, 7f, 8f];
        var output = new float[8];
        AttentionKernels.Forward(q, k, v, output, new float[4], shape);
        var expected = new float[8];
        AttentionReference.Forward(q, k, v, expected, shape);
        Assert.All(output, x => Assert.True(float.IsFinite(x)));
        TensorAssert.CloseToScale(expected, output, 1e-6, "one-hot rows");
    }

    [Fact]
    public void Wrong_buffer_lengths_and_impossible_shapes_throw()
    {
        var shape = new AttentionShape(1, 2, 1, 3, 3, 4, true, 0.5f);
        Assert.Throws<ArgumentException>(() => AttentionKernels.Forward(new float[24], new float[12], new float[12], new float[23], new float[6], shape));
        Assert.Throws<ArgumentException>(() => AttentionKernels.Forward(new float[24], new float[12], new float[12], new float[24], new float[5], shape));
        Assert.Throws<ArgumentException>(() => AttentionKernels.Backward(new float[24], new float[12], new float[12], new float[24], new float[6],
            new float[24], new float[24], new float[11], default, shape));
        Assert.Throws<ArgumentException>(() => (shape with { KvHeads = 3, Heads = 4 }).Validate());
        Assert.Throws<ArgumentException>(() => (shape with { QueryLength = 4 }).Validate());
        Assert.Throws<ArgumentException>(() => (shape with { Scale = float.NaN }).Validate());
        (shape with { QueryLength = 4, Causal = false }).Validate();
    }

    /// <summary>Random inputs, gradient buffers that start non-zero, and the reference results for them.</summary>
    private sealed record ReferenceCase(AttentionShape Shape, float[] Q, float[] K, float[] V, float[] DOutput,
        float[] DqStart, float[] DkStart, float[] DvStart, float[] Output, float[] Dq, float[] Dk, float[] Dv);

    private static ReferenceCase Reference(AttentionShape shape, ulong seed, float magnitude = 1f)
    {
        var random = new TensorRandom(seed);
        float[] Random(int n, float scale) => Tensor.Normal([n], 0, scale, random).ToArray();
        var q = Random(shape.QueryCount, magnitude);
        var k = Random(shape.KeyCount, magnitude);
        var v = Random(shape.KeyCount, 1);
        var dOutput = Random(shape.QueryCount, 1);
        var dqStart = Random(shape.QueryCount, 1);
        var dkStart = Random(shape.KeyCount, 1);
        var dvStart = Random(shape.KeyCount, 1);
        var output = new float[shape.QueryCount];
        AttentionReference.Forward(q, k, v, output, shape);
        float[] dq = [.. dqStart], dk = [.. dkStart], dv = [.. dvStart];
        AttentionReference.Backward(q, k, v, dOutput, dq, dk, dv, shape);
        return new ReferenceCase(shape, q, k, v, dOutput, dqStart, dkStart, dvStart, output, dq, dk, dv);
    }

    /// <summary>Runs the fused forward and backward (accumulating into the non-zero start buffers) and compares.</summary>
    private static void AssertFusedMatches(ReferenceCase expected, SimdWidth width, int threads, double tolerance = 1e-5)
    {
        var shape = expected.Shape;
        string what = $"{shape} {width} threads {threads}";
        var output = new float[shape.QueryCount];
        var logSumExp = new float[shape.RowCount];
        AttentionKernels.Forward(expected.Q, expected.K, expected.V, output, logSumExp, shape, width, threads);
        TensorAssert.CloseToScale(expected.Output, output, tolerance, what + " output");

        float[] dq = [.. expected.DqStart], dk = [.. expected.DkStart], dv = [.. expected.DvStart];
        AttentionKernels.Backward(expected.Q, expected.K, expected.V, output, logSumExp, expected.DOutput, dq, dk, dv,
            shape, width, threads);
        TensorAssert.CloseToScale(expected.Dq, dq, tolerance, what + " dq");
        TensorAssert.CloseToScale(expected.Dk, dk, tolerance, what + " dk");
        TensorAssert.CloseToScale(expected.Dv, dv, tolerance, what + " dv");
    }

    private static void AssertFusedMatchesAtEveryWidth(ReferenceCase expected, double tolerance = 1e-5)
    {
        foreach (var width in Widths) AssertFusedMatches(expected, width, 0, tolerance);
    }
}
