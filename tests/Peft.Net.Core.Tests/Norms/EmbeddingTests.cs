using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

public class EmbeddingTests
{
    [Fact]
    public void Lookup_selects_rows_and_scatter_adds_gradients()
    {
        var weight = Tensor.Normal([6, 4], 0, 1, new TensorRandom(51));
        weight.RequiresGrad = true;
        GradCheck.Assert(t => Ops.Embedding(t[0], [5, 0, 5, 2, 1, 5], 2, 3), [weight]);
        var y = Ops.Embedding(weight, [3, 3], 2);
        Assert.Equal([2, 4], y.ShapeArray());
        TensorAssert.BitEqual(weight.ToArray().AsSpan(12, 4), y.ToArray().AsSpan(4, 4), "row 3");
    }

    [Fact]
    public void A_bad_id_is_named_with_its_position_and_the_table()
    {
        var weight = Tensor.Zeros(10, 2);
        weight.Name = "embed_tokens.weight";
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(weight, [1, 2, 10], 3));
        Assert.Contains("id 10 at position 2", ex.Message);
        Assert.Contains("embed_tokens.weight", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Embedding(weight, [-3], 1));
        Assert.Throws<ArgumentException>(() => Ops.Embedding(Tensor.Zeros(10), [1], 1));
    }

    [Fact]
    public void Module_is_initialised_from_a_standard_normal_and_accepts_id_tensors()
    {
        var embedding = new Core.Nn.Embedding(500, 64, new TensorRandom(52));
        Assert.Equal(["weight"], embedding.NamedParameters().Select(p => p.Name));
        var w = embedding.Weight.ToArray();
        double mean = w.Average(v => (double)v), std = Math.Sqrt(w.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 0.98, 1.02);

        var ids32 = Tensor.Wrap(new[] { 4, 499, 0, 7 }, 2, 2);
        var ids64 = Tensor.Wrap(new long[] { 4, 499, 0, 7 }, 2, 2);
        var expected = embedding.Forward([4, 499, 0, 7], 2, 2);
        Assert.Equal([2, 2, 64], expected.ShapeArray());
        TensorAssert.BitEqual(expected.ToArray(), embedding.Forward(ids32).ToArray(), "I32 ids");
        TensorAssert.BitEqual(expected.ToArray(), embedding.Forward(ids64).ToArray(), "I64 ids");
        Assert.Throws<ArgumentException>(() => embedding.Forward(Tensor.Zeros(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => embedding.Forward(Tensor.Wrap(new long[] { 1L << 40 }, 1)));
    }
}
