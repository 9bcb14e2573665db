using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class ArithmeticOpsTests
{
    private static readonly Func<Tensor, Tensor, Tensor>[] Operations = [Ops.Add, Ops.Sub, Ops.Mul, Ops.Div];

    private static Tensor Input(int[] shape, ulong seed, bool awayFromZero = false)
    {
        var t = Tensor.Normal(shape, 0, 1, new TensorRandom(seed));
        if (awayFromZero)
        {
            var s = t.AsSpan();
            for (int i = 0; i < s.Length; i++) s[i] = s[i] >= 0 ? s[i] + 0.5f : s[i] - 0.5f;
        }
        t.RequiresGrad = true;
        return t;
    }

    [Theory]
    [InlineData(new[] { 2, 3, 4 }, new[] { 2, 3, 4 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 4 })]
    [InlineData(new[] { 2, 3, 4 }, new[] { 3, 4 })]
    [InlineData(new[] { 4 }, new[] { 2, 3, 4 })]
    [InlineData(new[] { 2, 3 }, new int[0])]
    [InlineData(new int[0], new[] { 5 })]
    [InlineData(new[] { 17 }, new[] { 17 })]
    public void Every_operation_passes_gradient_check_with_broadcasting(int[] shapeA, int[] shapeB)
    {
        foreach (var op in Operations)
        {
            var a = Input(shapeA, 1);
            var b = Input(shapeB, 2, awayFromZero: true);
            GradCheck.Assert(x => op(x[0], x[1]), [a, b]);
        }
    }

    [Fact]
    public void The_same_tensor_on_both_sides_gets_both_gradients()
    {
        var a = Input([3, 5], 3, awayFromZero: true);
        foreach (var op in Operations)
            GradCheck.Assert(x => op(x[0], x[0]), [a]);
        var square = Ops.Mul(a, a);
        square.Backward(Tensor.Ones(3, 5));
        TensorAssert.Close(a.ToArray().Select(v => 2 * v).ToArray(), a.Grad!.ToArray(), what: "d(a·a)/da = 2a");
    }

    [Fact]
    public void Broadcast_values_and_result_shape_follow_the_larger_operand()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = Tensor.FromArray([10f, 20f, 30f], 3);
        Assert.Equal([-9f, -18f, -27f, -6f, -15f, -24f], Ops.Sub(a, b).ToArray());
        Assert.Equal([9f, 18f, 27f, 6f, 15f, 24f], Ops.Sub(b, a).ToArray());
        Assert.Equal([10f, 40f, 90f, 40f, 100f, 180f], Ops.Mul(a, b).ToArray());
        Assert.Equal([10f, 10f, 10f, 2.5f, 4f, 5f], Ops.Div(b, a).ToArray());
        Assert.Equal([2, 3], Ops.Add(b, a).ShapeArray());
        Assert.Equal([2, 3], Ops.Mul(a, Tensor.Scalar(2f)).ShapeArray());
    }

    [Fact]
    public void Broadcast_gradient_is_summed_over_the_repeated_rows()
    {
        var a = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        var b = Tensor.FromArray([10f, 20f, 30f], 3);
        a.RequiresGrad = b.RequiresGrad = true;
        Ops.Mul(a, b).Backward(Tensor.Ones(2, 3));
        Assert.Equal([5f, 7f, 9f], b.Grad!.ToArray());
        Assert.Equal([10f, 20f, 30f, 10f, 20f, 30f], a.Grad!.ToArray());
    }

    [Fact]
    public void Shapes_that_do_not_broadcast_are_rejected_with_both_shapes_in_the_message()
    {
        var a = Tensor.Zeros(2, 3);
        var ex = Assert.Throws<ArgumentException>(() => Ops.Mul(a, Tensor.Zeros(2)));
        Assert.Contains("[2, 3]", ex.Message);
        Assert.Contains("[2]", ex.Message);
        Assert.Throws<ArgumentException>(() => Ops.Div(a, Tensor.Zeros(3, 2)));
        Assert.Throws<ArgumentException>(() => Ops.Sub(Tensor.Zeros(2, 1), a));
        Assert.Throws<InvalidOperationException>(() => Ops.Add(a, Tensor.Zeros(3).To(DType.F16)));
    }

    [Fact]
    public void Operators_on_tensors_call_the_matching_ops()
    {
        var a = Tensor.FromArray(new float[] { 1f, -2f, 4f });
        var b = Tensor.FromArray(new float[] { 2f, 4f, 8f });
        Assert.Equal([3f, 2f, 12f], (a + b).ToArray());
        Assert.Equal([-1f, -6f, -4f], (a - b).ToArray());
        Assert.Equal([2f, -8f, 32f], (a * b).ToArray());
        Assert.Equal([0.5f, -0.5f, 0.5f], (a / b).ToArray());
        Assert.Equal([-1f, 2f, -4f], (-a).ToArray());
    }
}
