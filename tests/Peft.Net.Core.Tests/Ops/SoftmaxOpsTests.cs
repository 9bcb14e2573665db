using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class SoftmaxOpsTests
{
    [Fact]
    public void Softmax_and_log_softmax_pass_gradient_checks()
    {
        var x = Tensor.Normal([2, 3, 9], 0, 2, new TensorRandom(1));
        x.RequiresGrad = true;
        GradCheck.Assert(t => Ops.Softmax(t[0]), [x]);
        GradCheck.Assert(t => Ops.LogSoftmax(t[0]), [x]);
        var row = Tensor.Normal([33], 0, 2, new TensorRandom(2));
        row.RequiresGrad = true;
        GradCheck.Assert(t => Ops.Softmax(t[0]), [row]);
        GradCheck.Assert(t => Ops.LogSoftmax(t[0]), [row]);
    }

    [Fact]
    public void Softmax_is_stable_for_huge_and_tiny_inputs()
    {
        Assert.Equal([0.5f, 0.5f], Ops.Softmax(Tensor.FromArray(new float[] { 1000f, 1000f })).ToArray());
        Assert.Equal([0f, 1f], Ops.Softmax(Tensor.FromArray(new float[] { -1e30f, 0f })).ToArray());
        Assert.Equal([1f, 0f], Ops.Softmax(Tensor.FromArray(new float[] { 3e38f, -3e38f })).ToArray());
        var probabilities = Ops.Softmax(Tensor.FromArray(new float[] { 1e4f, 1e4f - 1f, -1e4f })).ToArray();
        TensorAssert.Close([0.7310586f, 0.26894142f, 0f], probabilities, what: "softmax of ±1e4");
    }

    [Fact]
    public void Masked_entries_get_zero_probability_and_zero_gradient()
    {
        float ninf = float.NegativeInfinity;
        var x = Tensor.FromArray([1f, 2f, ninf, ninf, /* row 2 */ 0f, ninf, 0f, ninf], 2, 4);
        x.RequiresGrad = true;
        var y = Ops.Softmax(x);
        TensorAssert.Close([0.26894142f, 0.7310586f, 0f, 0f, 0.5f, 0f, 0.5f, 0f], y.ToArray(), what: "masked softmax");
        y.Backward(Tensor.Normal([2, 4], 0, 1, new TensorRandom(3)));
        var grad = x.Grad!.ToArray();
        Assert.All(grad, v => Assert.True(float.IsFinite(v)));
        Assert.Equal([0f, 0f, 0f, 0f], new[] { grad[2], grad[3], grad[5], grad[7] });

        var logits = Tensor.FromArray([0f, ninf, 1f], 3);
        var logProbabilities = Ops.LogSoftmax(logits).ToArray();
        Assert.Equal(ninf, logProbabilities[1]);
        TensorAssert.Close([-1.3132616f, -0.31326166f], [logProbabilities[0], logProbabilities[2]], what: "masked log_softmax");
    }

    [Fact]
    public void A_fully_masked_row_gives_NaN_like_pytorch()
    {
        float ninf = float.NegativeInfinity;
        var y = Ops.Softmax(Tensor.FromArray([ninf, ninf, 0f, 1f], 2, 2)).ToArray();
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[1]));
        TensorAssert.Close([0.26894142f, 0.7310586f], y[2..], what: "second row unaffected");
    }

    [Fact]
    public void Log_softmax_of_large_values_is_finite_and_exact()
    {
        var y = Ops.LogSoftmax(Tensor.FromArray(new float[] { 1e4f, 1e4f, -1e4f, 0f })).ToArray();
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
        TensorAssert.Close([-0.6931472f, -0.6931472f, -20000.693f, -10000.693f], y, atol: 0, rtol: 1e-6, what: "log_softmax ±1e4");
        var big = Ops.LogSoftmax(Tensor.FromArray(new float[] { 3e38f, 0f })).ToArray();
        Assert.Equal([0f, -3e38f], big);
    }

    [Fact]
    public void Empty_and_rank_zero_inputs()
    {
        Assert.Equal([0, 5], Ops.Softmax(Tensor.Zeros(0, 5)).ShapeArray());
        Assert.Equal([3, 0], Ops.LogSoftmax(Tensor.Zeros(3, 0)).ShapeArray());
        Assert.Throws<ArgumentException>(() => Ops.Softmax(Tensor.Scalar(1f)));
    }

    [Theory]
    [InlineData("softmax_normal")]
    [InlineData("softmax_large")]
    [InlineData("softmax_masked")]
    [InlineData("log_softmax_normal")]
    [InlineData("log_softmax_large")]
    public void Output_and_gradient_match_pytorch(string name)
    {
        var fixture = Fixture.Load("activations", name);
        var x = fixture.Tensor("x");
        if (name.EndsWith("masked"))
        {
            var values = x.AsSpan();
            var mask = fixture.Data("mask");
            for (int i = 0; i < values.Length; i++)
                if (mask[i] != 0f) values[i] = float.NegativeInfinity;
        }
        x.RequiresGrad = true;
        var y = name.StartsWith("log_") ? Ops.LogSoftmax(x) : Ops.Softmax(x);
        TensorAssert.CloseToScale(fixture.Data("y"), y.ToArray(), 1e-4, $"{name} forward");
        y.Backward(fixture.Tensor("grad_output"));
        TensorAssert.CloseToScale(fixture.Data("x_grad"), x.Grad!.ToArray(), 1e-4, $"{name} x.grad");
    }
}
