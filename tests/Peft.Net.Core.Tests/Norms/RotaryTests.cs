using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

public class RotaryTests
{
    private static Tensor Leaf(int[] shape, TensorRandom random)
    {
        var t = Tensor.Normal(shape, 0, 1, random);
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void Rotary_gradient_matches_finite_differences_for_shared_and_per_batch_positions()
    {
        var rope = new RotaryEmbedding(headDim: 8, maxPositions: 32);
        var random = new TensorRandom(31);
        var x = Leaf([2, 3, 4, 8], random);
        GradCheck.Assert(t => rope.Apply(t[0], [7, 0, 31, 2]), [x]);
        GradCheck.Assert(t => rope.Apply(t[0], startPosition: 5), [x]);
        GradCheck.Assert(t => rope.Apply(t[0], [0, 1, 2, 3, 10, 11, 12, 13]), [x]);
        var bthd = Leaf([2, 4, 3, 8], random);
        GradCheck.Assert(t => rope.Apply(t[0], [3, 4, 5, 6], timeDim: 1), [bthd]);
    }

    [Fact]
    public void Rotation_preserves_norms_pairs_and_position_zero_is_the_identity()
    {
        var rope = new RotaryEmbedding(headDim: 16, maxPositions: 64, theta: 500000);
        var x = Tensor.Normal([1, 2, 5, 16], 0, 1, new TensorRandom(32));
        var y = rope.Apply(x, startPosition: 40).ToArray();
        var xs = x.ToArray();
        for (int row = 0; row < 10; row++)
        for (int j = 0; j < 8; j++)
        {
            int a = row * 16 + j, b = a + 8;
            double before = xs[a] * xs[a] + xs[b] * xs[b], after = y[a] * y[a] + y[b] * y[b];
            Assert.True(Math.Abs(before - after) <= 1e-5 * Math.Max(1, before), $"row {row} pair {j}: |x|² {before} vs |y|² {after}");
        }
        var x0 = Tensor.Normal([1, 1, 1, 16], 0, 1, new TensorRandom(33));
        TensorAssert.BitEqual(x0.ToArray(), rope.Apply(x0, [0]).ToArray(), "position 0");
    }

    [Fact]
    public void Backward_is_the_inverse_rotation()
    {
        var rope = new RotaryEmbedding(headDim: 32, maxPositions: 100);
        var x = Leaf([2, 2, 3, 32], new TensorRandom(34));
        var y = rope.Apply(x, [97, 1, 50]);
        y.Backward(y.Detach().Clone());
        TensorAssert.Close(x.ToArray(), x.Grad!.ToArray(), 1e-5, 1e-5, "Rᵀ·R·x = x");
    }

    [Fact]
    public void Time_dimension_1_matches_the_transposed_layout()
    {
        var rope = new RotaryEmbedding(headDim: 6, maxPositions: 10);
        var bhtd = Tensor.Normal([2, 3, 4, 6], 0, 1, new TensorRandom(35));
        int[] positions = [2, 9, 0, 5];
        var expected = rope.Apply(bhtd, positions).ToArray();
        var bthd = Transpose12(bhtd);
        var actual = Transpose12(rope.Apply(bthd, positions, timeDim: 1)).ToArray();
        TensorAssert.BitEqual(expected, actual, "[B,T,H,D] vs [B,H,T,D]");
    }

    // [B, X, Y, D] → [B, Y, X, D]
    private static Tensor Transpose12(Tensor t)
    {
        int b = t.Dim(0), x = t.Dim(1), y = t.Dim(2), d = t.Dim(3);
        var src = t.ToArray();
        var dst = new float[src.Length];
        for (int i = 0; i < b; i++)
        for (int j = 0; j < x; j++)
        for (int k = 0; k < y; k++)
            Array.Copy(src, ((i * x + j) * y + k) * d, dst, ((i * y + k) * x + j) * d, d);
        return Tensor.FromArray(dst, b, y, x, d);
    }

    [Fact]
    public void Tables_follow_the_Hugging_Face_definition()
    {
        var rope = new RotaryEmbedding(headDim: 4, maxPositions: 3, theta: 100);
        Assert.Equal([1f, 0.1f], rope.InverseFrequencies.ToArray());
        var cos = rope.Cos.ToArray();
        var sin = rope.Sin.ToArray();
        // Row p is cat(freqs, freqs) with freqs = p · inv_freq.
        Assert.Equal([1f, 1f, 1f, 1f], cos[..4]);
        Assert.Equal((float)Math.Cos(2f), cos[8], 6);
        Assert.Equal((float)Math.Sin(0.2f), sin[9], 6);
        Assert.Equal(sin[9], sin[11]);
        Assert.Empty(rope.StateDict());
        Assert.Equal(["inv_freq", "cos_cached", "sin_cached"], rope.NamedBuffers().Select(b => b.Name));
    }

    [Fact]
    public void Llama3_scaling_keeps_high_divides_low_and_interpolates_middle_frequencies()
    {
        var scaling = new Llama3RopeScaling(Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192);
        var plain = RotaryEmbedding.DefaultInverseFrequencies(128, 500000);
        var scaled = scaling.Apply(plain);
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < 2048) Assert.Equal(plain[i], scaled[i]);
            else if (wavelen > 8192) Assert.Equal(plain[i] / 8f, scaled[i]);
            else Assert.InRange(scaled[i], plain[i] / 8f, plain[i]);
        }
        Assert.Contains(plain.Select(p => 2 * Math.PI / p), w => w is > 2048 and < 8192);
        var rope = new RotaryEmbedding(128, 16, 500000, scaling);
        Assert.Equal(scaled, rope.InverseFrequencies.ToArray());
        Assert.Throws<ArgumentException>(() => new Llama3RopeScaling(8, 4, 1, 8192).Apply(plain));
    }

    [Fact]
    public void Bad_positions_and_shapes_are_rejected_clearly()
    {
        var rope = new RotaryEmbedding(headDim: 4, maxPositions: 8);
        var x = Tensor.Zeros(1, 2, 3, 4);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, [0, 8, 1]));
        Assert.Contains("position 8", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, startPosition: 6));
        Assert.Throws<ArgumentOutOfRangeException>(() => rope.Apply(x, [0, -1, 1]));
        Assert.Throws<ArgumentException>(() => rope.Apply(x, [0, 1]));
        Assert.Throws<ArgumentException>(() => rope.Apply(Tensor.Zeros(1, 3, 6), 0));
        Assert.Throws<ArgumentException>(() => Ops.Rotary(Tensor.Zeros(3, 5), Tensor.Zeros(4, 5), Tensor.Zeros(4, 5), 0));
        Assert.Throws<ArgumentException>(() => RotaryEmbedding.DefaultInverseFrequencies(7, 10000));
        var trainable = Tensor.Zeros(8, 4);
        trainable.RequiresGrad = true;
        Assert.Throws<ArgumentException>(() => Ops.Rotary(x, trainable, rope.Sin, 0));
    }
}
