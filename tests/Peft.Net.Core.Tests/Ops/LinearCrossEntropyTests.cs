using Peft.Net.Core.Kernels;
using Peft.Net.Core.Kernels.Simd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

/// <summary>
/// The fused, chunked head + cross-entropy against the unfused path (Linear then CrossEntropy) on real vocabulary
/// sizes, with ignored rows, trainable and frozen heads, any chunking and any thread count.
/// </summary>
public sealed class LinearCrossEntropyTests
{
    private static (Tensor Hidden, Tensor Weight, int[] Targets) Problem(int rows, int channels, int vocab, ulong seed, bool trainableWeight,
        Func<int, bool>? ignored = null)
    {
        var random = new TensorRandom(seed);
        var hidden = Tensor.Normal([rows, channels], 0, 1, random);
        hidden.RequiresGrad = true;
        var weight = Tensor.Normal([vocab, channels], 0, 0.5f, random);
        weight.RequiresGrad = trainableWeight;
        var targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = ignored?.Invoke(r) == true ? -100 : random.NextInt(vocab);
        return (hidden, weight, targets);
    }

    private static (float Loss, float[] DHidden, float[]? DWeight) Run(Tensor hidden, Tensor weight, int[] targets, bool fused, int chunkRows = 0, float upstream = 1f)
    {
        hidden.Grad = null;
        weight.Grad = null;
        var loss = fused
            ? Peft.Net.Core.Ops.LinearCrossEntropy(hidden, weight, targets, -100, chunkRows)
            : Peft.Net.Core.Ops.CrossEntropy(Peft.Net.Core.Ops.Linear(hidden, weight), targets, -100);
        float value = loss.Item();
        (upstream == 1f ? loss : Peft.Net.Core.Ops.MulScalar(loss, upstream)).Backward();
        return (value, hidden.Grad!.ToArray(), weight.RequiresGrad ? weight.Grad!.ToArray() : null);
    }

    private static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * scale,
                $"{what}[{i}]: {actual[i]} vs {expected[i]} (scale {scale})");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(10)]
    [InlineData(64)]
    public void Vocabulary_4k_with_ignored_rows_equals_the_unfused_path(int chunkRows)
    {
        var (hidden, weight, targets) = Problem(rows: 40, channels: 48, vocab: 4096, seed: 3, trainableWeight: true, ignored: r => r % 7 == 2);
        var expected = Run(hidden, weight, targets, fused: false);
        var actual = Run(hidden, weight, targets, fused: true, chunkRows);

        Assert.Equal(BitConverter.SingleToInt32Bits(expected.Loss), BitConverter.SingleToInt32Bits(actual.Loss));
        AssertClose(expected.DHidden, actual.DHidden, 1e-6, "dHidden");
        // Chunks of at most Gemm.MatrixVectorRows rows take the matrix-vector path, which sums in another order; taller
        // ones (one chunk of all 40 rows, or four of 10) give the unfused bits.
        if (chunkRows == 0 || chunkRows > Gemm.MatrixVectorRows)
            Assert.Equal(expected.DHidden.Select(BitConverter.SingleToInt32Bits), actual.DHidden.Select(BitConverter.SingleToInt32Bits));
        AssertClose(expected.DWeight!, actual.DWeight!, 1e-6, "dWeight");
        // Ignored rows get exactly zero gradient.
        Assert.All(actual.DHidden.AsSpan(2 * 48, 48).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Vocabulary_150k_with_an_all_ignored_batch_row_equals_the_unfused_path()
    {
        // Two sequences of 4 positions; the second is all padding (every label −100).
        var (hidden, weight, targets) = Problem(rows: 8, channels: 16, vocab: 150_000, seed: 5, trainableWeight: false, ignored: r => r >= 4);
        var expected = Run(hidden, weight, targets, fused: false);
        var actual = Run(hidden, weight, targets, fused: true, chunkRows: 3);

        Assert.Equal(BitConverter.SingleToInt32Bits(expected.Loss), BitConverter.SingleToInt32Bits(actual.Loss));
        AssertClose(expected.DHidden, actual.DHidden, 1e-6, "dHidden");
        Assert.All(actual.DHidden.AsSpan(4 * 16).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void When_every_row_is_ignored_the_loss_is_zero_with_zero_gradients_as_unfused()
    {
        var (hidden, weight, targets) = Problem(rows: 6, channels: 8, vocab: 300, seed: 7, trainableWeight: true, ignored: _ => true);
        var expected = Run(hidden, weight, targets, fused: false);
        var actual = Run(hidden, weight, targets, fused: true, chunkRows: 4);
        Assert.Equal(0f, actual.Loss);
        Assert.Equal(expected.Loss, actual.Loss);
        Assert.All(actual.DHidden, v => Assert.Equal(0f, v));
        Assert.All(actual.DWeight!, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void A_scaled_upstream_gradient_matches_the_unfused_path()
    {
        var (hidden, weight, targets) = Problem(rows: 12, channels: 24, vocab: 1000, seed: 9, trainableWeight: true, ignored: r => r == 0);
        var expected = Run(hidden, weight, targets, fused: false, upstream: 0.37f);
        var actual = Run(hidden, weight, targets, fused: true, chunkRows: 5, upstream: 0.37f);
        Assert.Equal(expected.Loss, actual.Loss);
        AssertClose(expected.DHidden, actual.DHidden, 1e-6, "dHidden");
        AssertClose(expected.DWeight!, actual.DWeight!, 1e-6, "dWeight");
    }

    [Fact]
    public void Results_are_bit_identical_for_any_thread_count()
    {
        var (hidden, weight, targets) = Problem(rows: 64, channels: 64, vocab: 4096, seed: 11, trainableWeight: true, ignored: r => r % 5 == 0);
        int before = ComputeSettings.ThreadCount;
        try
        {
            ComputeSettings.ThreadCount = 1;
            var one = Run(hidden, weight, targets, fused: true, chunkRows: 24);
            foreach (int threads in new[] { 2, 3, 4 })
            {
                ComputeSettings.ThreadCount = threads;
                var many = Run(hidden, weight, targets, fused: true, chunkRows: 24);
                Assert.Equal(BitConverter.SingleToInt32Bits(one.Loss), BitConverter.SingleToInt32Bits(many.Loss));
                Assert.Equal(one.DHidden, many.DHidden);
                Assert.Equal(one.DWeight, many.DWeight);
            }
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }

    [Fact]
    public void Gradients_match_finite_differences()
    {
        var (hidden, weight, targets) = Problem(rows: 7, channels: 5, vocab: 37, seed: 13, trainableWeight: true, ignored: r => r == 3);
        GradCheck.Assert(t => Peft.Net.Core.Ops.LinearCrossEntropy(t[0], t[1], targets, -100, chunkRows: 3).Reshape(1), [hidden, weight]);
    }

    [Fact]
    public void A_frozen_bf16_head_equals_the_unfused_path()
    {
        // Chunks of more than Gemm.MatrixVectorRows rows: the same bits. Chunks of 4 run the matrix-vector kernel, whose
        // logits are summed in another order: equal to float rounding.
        var (hidden, weight, targets) = Problem(rows: 20, channels: 32, vocab: 2000, seed: 15, trainableWeight: false);
        var bf16 = weight.To(DType.BF16);
        var expected = Run(hidden, bf16, targets, fused: false);
        var actual = Run(hidden, bf16, targets, fused: true, chunkRows: 10);
        Assert.Equal(expected.Loss, actual.Loss);
        Assert.Equal(expected.DHidden, actual.DHidden);
        var small = Run(hidden, bf16, targets, fused: true, chunkRows: 4);
        Assert.Equal(expected.Loss, small.Loss, 1e-6 * Math.Abs(expected.Loss));
        AssertClose(expected.DHidden, small.DHidden, 1e-6, "dHidden");
    }

    [Fact]
    public void The_fused_path_allocates_a_chunk_not_the_logits()
    {
        const int rows = 64, vocab = 50_000;
        var (hidden, weight, targets) = Problem(rows, channels: 16, vocab, seed: 17, trainableWeight: false);
        long Measure(bool fused)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run(hidden, weight, targets, fused, chunkRows: 4);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Measure(true);
        Measure(false);
        long fusedBytes = Measure(true), unfusedBytes = Measure(false);
        long logits = 4L * rows * vocab; // 12.8 MB
        Assert.True(unfusedBytes >= 2 * logits, $"the unfused path holds the logits and their gradient: {unfusedBytes} bytes");
        Assert.True(fusedBytes < logits / 4, $"the fused path allocated {fusedBytes} bytes; one chunk of logits is {4L * 4 * vocab}");
    }

    [Fact]
    public void Bad_targets_and_shapes_are_named()
    {
        var (hidden, weight, targets) = Problem(rows: 4, channels: 8, vocab: 50, seed: 1, trainableWeight: false);
        targets[2] = 50;
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Peft.Net.Core.Ops.LinearCrossEntropy(hidden, weight, targets));
        Assert.Contains("target 50 at row 2", error.Message);
        Assert.Throws<ArgumentException>(() => Peft.Net.Core.Ops.LinearCrossEntropy(hidden, weight, new int[3]));
        Assert.Throws<ArgumentException>(() => Peft.Net.Core.Ops.LinearCrossEntropy(Tensor.Zeros(4, 9), weight, new int[4]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(129)]
    public void The_in_place_gradient_kernel_equals_backward_on_a_zero_buffer_at_every_width(int vocab)
    {
        const int rows = 9;
        var random = new TensorRandom((ulong)vocab);
        var logits = Tensor.Normal([rows, vocab], 0, 3, random).ToArray();
        var targets = Enumerable.Range(0, rows).Select(r => r % 4 == 1 ? -100 : random.NextInt(vocab)).ToArray();
        var lse = new float[rows];
        CrossEntropyKernels.ForwardReference(lse, logits, targets, -100, vocab);

        void Check<TVector>() where TVector : struct, IFloatVector<TVector>
        {
            var expected = new float[rows * vocab];
            CrossEntropyKernels.Backward<TVector>(expected, logits, targets, lse, -100, vocab, 0.125f);
            var actual = (float[])logits.Clone();
            CrossEntropyKernels.GradientInPlace<TVector>(actual, targets, lse, -100, vocab, 0.125f);
            Assert.Equal(expected, actual);
            var reference = (float[])logits.Clone();
            CrossEntropyKernels.GradientInPlaceReference(reference, targets, lse, -100, vocab, 0.125f);
            for (int i = 0; i < reference.Length; i++) Assert.Equal(reference[i], actual[i], 1e-6f);
        }

        Check<FloatScalar>();
        if (FloatVector128.IsHardwareAccelerated) Check<FloatVector128>();
        if (FloatVector256.IsHardwareAccelerated) Check<FloatVector256>();
        if (FloatVector512.IsHardwareAccelerated) Check<FloatVector512>();
    }
}
