using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests;

public class AutogradTests
{
    [Fact]
    public void MatMul_gradients_match_finite_differences_for_every_transpose_combination()
    {
        var random = new TensorRandom(7);
        foreach (bool ta in new[] { false, true })
        foreach (bool tb in new[] { false, true })
        {
            var a = Tensor.Normal(ta ? [2, 5, 3] : [2, 3, 5], 0, 1, random);
            var b = Tensor.Normal(tb ? [2, 4, 5] : [2, 5, 4], 0, 1, random);
            a.RequiresGrad = b.RequiresGrad = true;
            GradCheck.Assert(x => Ops.MatMul(x[0], x[1], ta, tb), [a, b]);
            var shared = Tensor.Normal(tb ? [4, 5] : [5, 4], 0, 1, random);
            shared.RequiresGrad = true;
            GradCheck.Assert(x => Ops.MatMul(x[0], x[1], ta, tb), [a, shared]);
        }
    }

    [Fact]
    public void Gradients_accumulate_across_backward_calls_and_reset_on_clear()
    {
        var x = Tensor.FromArray([1f, 2f, 3f], 1, 3);
        var w = Tensor.FromArray([1f, 1f, 1f], 3, 1);
        x.RequiresGrad = true;
        Ops.MatMul(x, w).Backward();
        Ops.MatMul(x, w).Backward();
        Assert.Equal([2f, 2f, 2f], x.Grad!.ToArray());
        x.Grad = null;
        Ops.MatMul(x, w).Backward();
        Assert.Equal([1f, 1f, 1f], x.Grad!.ToArray());
    }

    [Fact]
    public void NoGrad_scope_records_nothing_and_detach_cuts_the_graph()
    {
        var x = Tensor.Ones(2, 2);
        x.RequiresGrad = true;
        using (Tensor.NoGrad())
        {
            var y = Ops.MatMul(x, x);
            Assert.False(y.RequiresGrad);
            Assert.True(y.IsLeaf);
        }
        var z = Ops.MatMul(x, x);
        Assert.True(z.RequiresGrad);
        Assert.False(z.Detach().RequiresGrad);
        Assert.Throws<InvalidOperationException>(() => z.RequiresGrad = false);
        Assert.Throws<InvalidOperationException>(() => z.Backward());
    }

    [Fact]
    public void A_tensor_used_twice_receives_the_sum_of_both_gradients()
    {
        var random = new TensorRandom(3);
        var a = Tensor.Normal([3, 3], 0, 1, random);
        a.RequiresGrad = true;
        GradCheck.Assert(x => Ops.Add(Ops.MatMul(x[0], x[0]), x[0]), [a]);
    }

    [Fact]
    public void Views_reshape_slice_concat_transpose_and_index_rows_pass_gradient_checks()
    {
        var random = new TensorRandom(5);
        var a = Tensor.Normal([4, 6], 0, 1, random);
        var b = Tensor.Normal([4, 2], 0, 1, random);
        a.RequiresGrad = b.RequiresGrad = true;
        GradCheck.Assert(x => x[0].Reshape(2, -1, 3), [a]);
        GradCheck.Assert(x => x[0].Slice(1, 2), [a]);
        GradCheck.Assert(x => Tensor.Concat([x[0], x[1]], dim: 1), [a, b]);
        GradCheck.Assert(x => Tensor.Concat([x[0].Slice(0, 1), x[0]], dim: 0), [a]);
        GradCheck.Assert(x => x[0].Reshape(2, 2, 6).TransposeLast2(), [a]);
        GradCheck.Assert(x => x[0].IndexRows([3, 0, 3, 1], 2, 2), [a]);
    }

    [Fact]
    public void Shape_errors_name_the_tensors()
    {
        var a = Tensor.Zeros(2, 3);
        a.Name = "left";
        var ex = Assert.Throws<ArgumentException>(() => Ops.MatMul(a, Tensor.Zeros(4, 2)));
        Assert.Contains("left", ex.Message);
        Assert.Throws<ArgumentException>(() => a.Reshape(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.IndexRows([2], 1));
    }
}
