using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Attention;

/// <summary>
/// Attention with time before heads (<see cref="AttentionLayout.BatchTimeHeads"/>): the fused kernels against the
/// reference run on the same data in the heads-first layout, the op's gradients by finite differences, and results
/// that do not depend on the thread count.
/// </summary>
public class AttentionLayoutTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.Vector128, SimdWidth.Vector256, SimdWidth.Vector512];

    // x: (B, X, Y, D) → (B, Y, X, D): swaps the heads and time axes in either direction.
    internal static float[] SwapMiddle(ReadOnlySpan<float> x, int b, int first, int second, int d)
    {
        var result = new float[x.Length];
        for (int n = 0; n < b; n++)
        for (int i = 0; i < first; i++)
        for (int j = 0; j < second; j++)
            x.Slice(((n * first + i) * second + j) * d, d).CopyTo(result.AsSpan(((n * second + j) * first + i) * d, d));
        return result;
    }

    public static TheoryData<int, int, int, int, int, int, bool> Shapes() => new()
    {
        // B, H, Hkv, Tq, Tk, D, causal
        { 2, 4, 2, 100, 100, 16, true },   // GQA over two query tiles and two key blocks
        { 1, 4, 4, 17, 17, 8, false },     // MHA, no mask
        { 2, 6, 2, 5, 70, 33, true },      // new queries after a cached prefix (Tq < Tk), odd head size
        { 1, 3, 1, 65, 65, 7, true },      // MQA, odd sizes, a partial tile
        { 3, 2, 1, 1, 9, 64, true },       // one decode step
        { 1, 4, 2, 1, 200, 33, true },     // a decode step over four key blocks, keys read in place
        { 2, 8, 2, 1, 130, 16, true },     // a decode step with 4 query heads per kv head: keys in place, values copied
        { 1, 2, 2, 40, 23, 5, false },     // more queries than keys without a mask
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Time_first_kernels_match_the_heads_first_reference_at_every_width(int b, int h, int hkv, int tq, int tk, int d, bool causal)
    {
        var headsFirst = new AttentionShape(b, h, hkv, tq, tk, d, causal, 0.7f / MathF.Sqrt(d));
        var timeFirst = headsFirst with { Layout = AttentionLayout.BatchTimeHeads };
        var random = new TensorRandom((ulong)(b * 1000 + h * 100 + tq * 10 + d));
        float[] Random(int n) => Tensor.Normal([n], 0, 1, random).ToArray();
        float[] q = Random(headsFirst.QueryCount), k = Random(headsFirst.KeyCount), v = Random(headsFirst.KeyCount);
        float[] dOutput = Random(headsFirst.QueryCount);
        float[] dqStart = Random(headsFirst.QueryCount), dkStart = Random(headsFirst.KeyCount), dvStart = Random(headsFirst.KeyCount);

        // The oracle: the reference in the heads-first layout, its results moved to time first.
        var expectedOutput = new float[headsFirst.QueryCount];
        AttentionReference.Forward(q, k, v, expectedOutput, headsFirst);
        float[] dq = [.. dqStart], dk = [.. dkStart], dv = [.. dvStart];
        AttentionReference.Backward(q, k, v, dOutput, dq, dk, dv, headsFirst);
        float[] Queries(float[] x) => SwapMiddle(x, b, h, tq, d);
        float[] Keys(float[] x) => SwapMiddle(x, b, hkv, tk, d);

        // The reference in the time-first layout agrees with itself in the heads-first one.
        var referenceTimeFirst = new float[timeFirst.QueryCount];
        AttentionReference.Forward(Queries(q), Keys(k), Keys(v), referenceTimeFirst, timeFirst);
        TensorAssert.CloseToScale(Queries(expectedOutput), referenceTimeFirst, 1e-6, "reference output");

        foreach (var width in Widths)
        {
            string what = $"{timeFirst} {width}";
            var output = new float[timeFirst.QueryCount];
            var logSumExp = new float[timeFirst.RowCount];
            AttentionKernels.Forward(Queries(q), Keys(k), Keys(v), output, logSumExp, timeFirst, width);
            TensorAssert.CloseToScale(Queries(expectedOutput), output, 1e-5, what + " output");

            float[] fusedDq = Queries(dqStart), fusedDk = Keys(dkStart), fusedDv = Keys(dvStart);
            AttentionKernels.Backward(Queries(q), Keys(k), Keys(v), output, logSumExp, Queries(dOutput),
                fusedDq, fusedDk, fusedDv, timeFirst, width);
            TensorAssert.CloseToScale(Queries(dq), fusedDq, 1e-5, what + " dq");
            TensorAssert.CloseToScale(Keys(dk), fusedDk, 1e-5, what + " dk");
            TensorAssert.CloseToScale(Keys(dv), fusedDv, 1e-5, what + " dv");
        }
    }

    [Theory]
    [InlineData(true, 5, 5)]
    [InlineData(false, 5, 5)]
    [InlineData(true, 2, 5)]  // new queries after a cached prefix of 3
    [InlineData(false, 6, 3)]
    public void Time_first_gradients_match_finite_differences(bool causal, int tq, int tk)
    {
        var random = new TensorRandom((ulong)(tq * 10 + tk + (causal ? 100 : 0)));
        var q = Tensor.Normal([2, tq, 4, 8], 0, 1, random);
        var k = Tensor.Normal([2, tk, 2, 8], 0, 1, random);
        var v = Tensor.Normal([2, tk, 2, 8], 0, 1, random);
        q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
        GradCheck.Assert(x => Ops.ScaledDotProductAttention(x[0], x[1], x[2], causal, layout: AttentionLayout.BatchTimeHeads), [q, k, v]);
    }

    [Fact]
    public void The_op_in_either_layout_gives_the_same_values_and_gradients()
    {
        var random = new TensorRandom(5);
        var q = Tensor.Normal([2, 4, 9, 8], 0, 1, random);
        var k = Tensor.Normal([2, 2, 9, 8], 0, 1, random);
        var v = Tensor.Normal([2, 2, 9, 8], 0, 1, random);
        var upstream = Tensor.Normal([2, 4, 9, 8], 0, 1, random);
        q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
        var headsFirst = Ops.ScaledDotProductAttention(q, k, v);
        headsFirst.Backward(upstream);

        Tensor TimeFirst(Tensor x) => Tensor.FromArray(SwapMiddle(x.AsSpan(), x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)),
            [x.Dim(0), x.Dim(2), x.Dim(1), x.Dim(3)]);
        var qt = TimeFirst(q.Detach());
        var kt = TimeFirst(k.Detach());
        var vt = TimeFirst(v.Detach());
        qt.RequiresGrad = kt.RequiresGrad = vt.RequiresGrad = true;
        var timeFirst = Ops.ScaledDotProductAttention(qt, kt, vt, layout: AttentionLayout.BatchTimeHeads);
        Assert.Equal([2, 9, 4, 8], timeFirst.ShapeArray());
        timeFirst.Backward(TimeFirst(upstream));

        TensorAssert.CloseToScale(TimeFirst(headsFirst).AsSpan(), timeFirst.AsSpan(), 1e-6, "output");
        TensorAssert.CloseToScale(TimeFirst(q.Grad!).AsSpan(), qt.Grad!.AsSpan(), 1e-6, "dq");
        TensorAssert.CloseToScale(TimeFirst(k.Grad!).AsSpan(), kt.Grad!.AsSpan(), 1e-6, "dk");
        TensorAssert.CloseToScale(TimeFirst(v.Grad!).AsSpan(), vt.Grad!.AsSpan(), 1e-6, "dv");
    }

    [Fact]
    public void Time_first_shapes_are_checked_on_the_time_and_head_axes()
    {
        var q = Tensor.Zeros(1, 3, 4, 8);
        Assert.Throws<ArgumentException>(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 3, 3, 8), Tensor.Zeros(1, 3, 3, 8), layout: AttentionLayout.BatchTimeHeads));
        Assert.Throws<ArgumentException>(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 2, 2, 8), Tensor.Zeros(1, 2, 2, 8), layout: AttentionLayout.BatchTimeHeads));
        Assert.Throws<ArgumentException>(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 3, 2, 8), Tensor.Zeros(1, 3, 2, 8), layout: (AttentionLayout)7));
        Assert.Equal([1, 3, 4, 8], Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 5, 2, 8), Tensor.Zeros(1, 5, 2, 8), layout: AttentionLayout.BatchTimeHeads).ShapeArray());
    }

    public static TheoryData<int, int, int, int, int, int, bool, AttentionLayout> ParallelShapes() => new()
    {
        { 1, 4, 1, 150, 150, 16, true, AttentionLayout.BatchTimeHeads },   // one kv head: the backward splits it
        { 2, 4, 2, 70, 90, 32, true, AttentionLayout.BatchTimeHeads },
        { 4, 8, 8, 130, 130, 64, true, AttentionLayout.BatchTimeHeads },   // as many kv heads as items
        { 1, 4, 1, 150, 150, 16, true, AttentionLayout.BatchHeadsTime },
        { 2, 2, 2, 130, 130, 8, false, AttentionLayout.BatchHeadsTime },
    };

    [Theory]
    [MemberData(nameof(ParallelShapes))]
    public void Results_are_bit_identical_on_one_and_two_threads(int b, int h, int hkv, int tq, int tk, int d, bool causal, AttentionLayout layout)
    {
        var shape = new AttentionShape(b, h, hkv, tq, tk, d, causal, 0.3f, layout);
        var random = new TensorRandom(11);
        float[] Random(int n) => Tensor.Normal([n], 0, 1, random).ToArray();
        float[] q = Random(shape.QueryCount), k = Random(shape.KeyCount), v = Random(shape.KeyCount), dOutput = Random(shape.QueryCount);
        float[] dqStart = Random(shape.QueryCount), dkStart = Random(shape.KeyCount), dvStart = Random(shape.KeyCount);
        int before = ComputeSettings.ThreadCount;
        try
        {
            (float[] Output, float[] Dq, float[] Dk, float[] Dv) Run(int threads)
            {
                ComputeSettings.ThreadCount = threads;
                var output = new float[shape.QueryCount];
                var logSumExp = new float[shape.RowCount];
                AttentionKernels.Forward(q, k, v, output, logSumExp, shape);
                float[] dq = [.. dqStart], dk = [.. dkStart], dv = [.. dvStart];
                AttentionKernels.Backward(q, k, v, output, logSumExp, dOutput, dq, dk, dv, shape);
                return (output, dq, dk, dv);
            }
            var one = Run(1);
            var two = Run(2);
            TensorAssert.BitEqual(one.Output, two.Output, "output");
            TensorAssert.BitEqual(one.Dq, two.Dq, "dq");
            TensorAssert.BitEqual(one.Dk, two.Dk, "dk");
            TensorAssert.BitEqual(one.Dv, two.Dv, "dv");
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }
}
