using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class ReductionOpsTests
{
    private static Tensor Input(int[] shape, ulong seed)
    {
        var t = Tensor.Normal(shape, 0, 1, new TensorRandom(seed));
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void Sum_and_mean_over_every_dimension_pass_gradient_checks_with_and_without_keepDim()
    {
        var x = Input([2, 3, 4], 1);
        foreach (int dim in new[] { 0, 1, 2, -1, -3 })
        foreach (bool keepDim in new[] { false, true })
        {
            GradCheck.Assert(t => Ops.Sum(t[0], dim, keepDim), [x]);
            GradCheck.Assert(t => Ops.Mean(t[0], dim, keepDim), [x]);
            GradCheck.Assert(t => Ops.Max(t[0], dim, keepDim), [x]);
        }
        GradCheck.Assert(t => Ops.Sum(t[0]), [x]);
        GradCheck.Assert(t => Ops.Mean(t[0]), [x]);
    }

    [Fact]
    public void Reductions_give_the_documented_shapes_and_values()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        Assert.Equal([5f, 7f, 9f], Ops.Sum(x, 0).ToArray());
        Assert.Equal([3], Ops.Sum(x, 0).ShapeArray());
        Assert.Equal([1, 3], Ops.Sum(x, 0, keepDim: true).ShapeArray());
        Assert.Equal([6f, 15f], Ops.Sum(x, -1).ToArray());
        Assert.Equal([2, 1], Ops.Mean(x, 1, keepDim: true).ShapeArray());
        Assert.Equal([2f, 5f], Ops.Mean(x, 1).ToArray());
        Assert.Equal([3f, 6f], Ops.Max(x, 1).ToArray());
        Assert.Equal([4f, 5f, 6f], Ops.Max(x, 0).ToArray());
        var total = Ops.Sum(x);
        Assert.Equal(0, total.Rank);
        Assert.Equal(21f, total.Item());
        Assert.Equal(3.5f, Ops.Mean(x).Item());
        Assert.Equal(0f, Ops.Sum(Tensor.Zeros(0, 3)).Item());
        Assert.True(float.IsNaN(Ops.Mean(Tensor.Zeros(0)).Item()));
    }

    [Fact]
    public void Bad_dimensions_are_rejected()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Sum(x, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Mean(x, -3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ops.Sum(Tensor.Scalar(1f), 0));
        Assert.Throws<ArgumentException>(() => Ops.Max(Tensor.Zeros(2, 0), 1));
    }

    [Fact]
    public void Mean_backward_spreads_the_gradient_evenly()
    {
        var x = Tensor.Zeros(2, 4);
        x.RequiresGrad = true;
        Ops.Mean(x, 1).Backward(Tensor.FromArray(new float[] { 4f, 8f }));
        Assert.Equal([1f, 1f, 1f, 1f, 2f, 2f, 2f, 2f], x.Grad!.ToArray());
    }
}
