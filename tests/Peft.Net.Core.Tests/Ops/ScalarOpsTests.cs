using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.OpTests;

public class ScalarOpsTests
{
    private static Tensor Input(ulong seed)
    {
        var t = Tensor.Normal([3, 7], 0, 1, new TensorRandom(seed));
        var s = t.AsSpan();
        for (int i = 0; i < s.Length; i++) s[i] += s[i] >= 0 ? 0.5f : -0.5f; // away from 0 for 1/x
        t.RequiresGrad = true;
        return t;
    }

    [Fact]
    public void Scalar_ops_pass_gradient_checks()
    {
        var x = Input(1);
        GradCheck.Assert(t => Ops.AddScalar(t[0], 2.5f), [x]);
        GradCheck.Assert(t => Ops.MulScalar(t[0], -1.5f), [x]);
        GradCheck.Assert(t => Ops.DivScalar(t[0], 3f), [x]);
        GradCheck.Assert(t => Ops.RSub(t[0], 2f), [x]);
        GradCheck.Assert(t => Ops.RDiv(t[0], 2f), [x]);
        GradCheck.Assert(t => Ops.Neg(t[0]), [x]);
        GradCheck.Assert(t => 1f - t[0] * 2f / 3f + 0.5f, [x]);
        GradCheck.Assert(t => 2f / t[0] - (-t[0]) * 3f, [x]);
    }

    [Fact]
    public void Scalar_operators_compute_the_documented_values()
    {
        var x = Tensor.FromArray(new float[] { 1f, -2f, 4f });
        Assert.Equal([3f, 0f, 6f], (x + 2f).ToArray());
        Assert.Equal([3f, 0f, 6f], (2f + x).ToArray());
        Assert.Equal([-1f, -4f, 2f], (x - 2f).ToArray());
        Assert.Equal([1f, 4f, -2f], (2f - x).ToArray());
        Assert.Equal([3f, -6f, 12f], (x * 3f).ToArray());
        Assert.Equal([3f, -6f, 12f], (3f * x).ToArray());
        Assert.Equal([0.5f, -1f, 2f], (x / 2f).ToArray());
        Assert.Equal([4f, -2f, 1f], (4f / x).ToArray());
        // x / 3 is a true division: 1/3 rounded once, not 1 · fl(1/3).
        Assert.Equal(1f / 3f, (Tensor.FromArray(new float[] { 1f }) / 3f).Item());
        Assert.Equal(0.1f / 3f, Ops.DivScalar(Tensor.FromArray(new float[] { 0.1f }), 3f).Item());
    }

    [Fact]
    public void Scalar_ops_keep_the_shape_and_record_only_when_needed()
    {
        var x = Tensor.Ones(2, 3, 4);
        var y = Ops.MulScalar(x, 2f);
        Assert.Equal([2, 3, 4], y.ShapeArray());
        Assert.False(y.RequiresGrad);
        x.RequiresGrad = true;
        Assert.True(Ops.Neg(x).RequiresGrad);
        using (Tensor.NoGrad()) Assert.False(Ops.Neg(x).RequiresGrad);
    }
}
