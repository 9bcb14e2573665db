using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Attention;

public class ScaledDotProductAttentionTests
{
    private static Tensor[] Inputs(int b, int h, int hkv, int tq, int tk, int d, ulong seed)
    {
        var random = new TensorRandom(seed);
        var q = Tensor.Normal([b, h, tq, d], 0, 1, random);
        var k = Tensor.Normal([b, hkv, tk, d], 0, 1, random);
        var v = Tensor.Normal([b, hkv, tk, d], 0, 1, random);
        q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
        return [q, k, v];
    }

    [Theory]
    [InlineData(true, 5, 5, null)]
    [InlineData(false, 5, 5, null)]
    [InlineData(true, 2, 5, null)]  // new queries after a cached prefix of 3
    [InlineData(false, 2, 5, 0.7f)]
    [InlineData(true, 1, 5, 0.2f)]  // one decoding step
    public void Gradients_match_finite_differences(bool causal, int tq, int tk, float? scale)
    {
        var inputs = Inputs(2, 4, 2, tq, tk, 8, (ulong)(tq * 10 + tk + (causal ? 100 : 0)));
        GradCheck.Assert(x => Ops.ScaledDotProductAttention(x[0], x[1], x[2], causal, scale), inputs);
    }

    public static TheoryData<string> FixtureCases() =>
        ["gqa_causal", "gqa_full", "mha_causal_two_tiles", "mqa_cached_causal_scaled", "gqa_decode_step", "gqa_causal_large_scores"];

    [Theory]
    [MemberData(nameof(FixtureCases))]
    public void Output_and_gradients_match_pytorch(string name)
    {
        var fixture = Fixture.Load("attention", name);
        var q = fixture.Tensor("q");
        var k = fixture.Tensor("k");
        var v = fixture.Tensor("v");
        q.RequiresGrad = k.RequiresGrad = v.RequiresGrad = true;
        bool causal = fixture.Meta.GetProperty("causal").GetBoolean();
        var scaleElement = fixture.Meta.GetProperty("scale");
        float? scale = scaleElement.ValueKind == System.Text.Json.JsonValueKind.Null ? null : scaleElement.GetSingle();

        var output = Ops.ScaledDotProductAttention(q, k, v, causal, scale);
        output.Backward(fixture.Tensor("dout"));

        TensorAssert.CloseToScale(fixture.Data("out"), output.AsSpan(), 1e-4, name + " out");
        TensorAssert.CloseToScale(fixture.Data("dq"), q.Grad!.AsSpan(), 1e-4, name + " dq");
        TensorAssert.CloseToScale(fixture.Data("dk"), k.Grad!.AsSpan(), 1e-4, name + " dk");
        TensorAssert.CloseToScale(fixture.Data("dv"), v.Grad!.AsSpan(), 1e-4, name + " dv");
    }

    [Fact]
    public void Only_inputs_that_require_gradients_receive_them_and_the_values_do_not_change()
    {
        var all = Inputs(2, 4, 2, 6, 6, 8, 3);
        var upstream = Tensor.Normal([2, 4, 6, 8], 0, 1, new TensorRandom(4));
        Ops.ScaledDotProductAttention(all[0], all[1], all[2]).Backward(upstream);

        var q = all[0].Detach();
        var k = all[1].Detach();
        var v = all[2].Detach();
        q.RequiresGrad = true;
        Ops.ScaledDotProductAttention(q, k, v).Backward(upstream);
        Assert.Null(k.Grad);
        Assert.Null(v.Grad);
        TensorAssert.BitEqual(all[0].Grad!.AsSpan(), q.Grad!.AsSpan(), "dq alone");

        q.RequiresGrad = false;
        v.RequiresGrad = true;
        Ops.ScaledDotProductAttention(q, k, v).Backward(upstream);
        Assert.Null(k.Grad);
        TensorAssert.BitEqual(all[2].Grad!.AsSpan(), v.Grad!.AsSpan(), "dv alone");
    }

    [Fact]
    public void One_tensor_passed_three_times_and_gradients_already_there_get_every_contribution()
    {
        // The backward pass writes fresh gradients in place of zero-filled ones only when q, k and v are three tensors
        // with no gradient yet. Self-attention on one tensor must sum the three roles' gradients into it, and a
        // second backward pass must add to the gradients of the first (twice the first, up to the rounding of adding
        // block by block into a non-zero buffer).
        var x = Tensor.Normal([1, 2, 70, 8], 0, 1, new TensorRandom(31));
        x.RequiresGrad = true;
        var upstream = Tensor.Normal([1, 2, 70, 8], 0, 1, new TensorRandom(32));
        Ops.ScaledDotProductAttention(x, x, x).Backward(upstream);

        var roles = new[] { x.Detach(), x.Detach(), x.Detach() };
        foreach (var role in roles) role.RequiresGrad = true;
        Ops.ScaledDotProductAttention(roles[0], roles[1], roles[2]).Backward(upstream);
        var expected = roles[0].Grad!.AsSpan().ToArray();
        for (int i = 0; i < expected.Length; i++) expected[i] = expected[i] + roles[1].Grad!.AsSpan()[i] + roles[2].Grad!.AsSpan()[i];
        TensorAssert.CloseToScale(expected, x.Grad!.AsSpan(), 1e-6, "dx of self-attention");

        var once = roles.Select(r => r.Grad!.AsSpan().ToArray()).ToArray();
        Ops.ScaledDotProductAttention(roles[0], roles[1], roles[2]).Backward(upstream);
        for (int r = 0; r < 3; r++)
            TensorAssert.CloseToScale(once[r].Select(g => g + g).ToArray(), roles[r].Grad!.AsSpan(), 1e-6, $"role {r} after two passes");
    }

    [Fact]
    public void Under_no_grad_the_result_is_the_same_and_records_nothing()
    {
        var inputs = Inputs(1, 2, 1, 4, 7, 5, 9);
        var recorded = Ops.ScaledDotProductAttention(inputs[0], inputs[1], inputs[2], causal: true);
        Assert.True(recorded.RequiresGrad);
        using (Tensor.NoGrad())
        {
            var plain = Ops.ScaledDotProductAttention(inputs[0], inputs[1], inputs[2], causal: true);
            Assert.True(plain.IsLeaf);
            Assert.False(plain.RequiresGrad);
            TensorAssert.BitEqual(recorded.AsSpan(), plain.AsSpan(), "no-grad output");
        }
    }

    [Fact]
    public void A_decoding_step_equals_the_last_row_of_the_full_causal_pass()
    {
        var inputs = Inputs(2, 4, 2, 9, 9, 8, 11);
        using var _ = Tensor.NoGrad();
        var full = Ops.ScaledDotProductAttention(inputs[0], inputs[1], inputs[2]);
        var lastQuery = Tensor.Zeros(2, 4, 1, 8);
        for (int bh = 0; bh < 8; bh++)
            inputs[0].AsSpan().Slice((bh * 9 + 8) * 8, 8).CopyTo(lastQuery.AsSpan().Slice(bh * 8, 8));
        var step = Ops.ScaledDotProductAttention(lastQuery, inputs[1], inputs[2]);
        for (int bh = 0; bh < 8; bh++)
            TensorAssert.Close(full.AsSpan().Slice((bh * 9 + 8) * 8, 8), step.AsSpan().Slice(bh * 8, 8), 1e-6, 1e-6, $"head {bh}");
    }

    [Fact]
    public void Bad_inputs_throw_with_the_tensor_named()
    {
        var q = Tensor.Zeros(1, 4, 3, 8);
        var k = Tensor.Zeros(1, 2, 3, 8);
        var v = Tensor.Zeros(1, 2, 3, 8);
        q.Name = "q_proj";
        k.Name = "k_proj";
        void Throws(Func<Tensor> call, string fragment)
        {
            var ex = Assert.Throws<ArgumentException>(() => call());
            Assert.Contains(fragment, ex.Message);
        }
        Throws(() => Ops.ScaledDotProductAttention(q.Reshape(4, 3, 8), k, v), "q_proj");
        Throws(() => Ops.ScaledDotProductAttention(q, k.To(DType.F16), v), "F32");
        Throws(() => Ops.ScaledDotProductAttention(q, k, Tensor.Zeros(1, 2, 4, 8)), "same shape");
        Throws(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 3, 3, 8), Tensor.Zeros(1, 3, 3, 8)), "multiple");
        Throws(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 2, 3, 4), Tensor.Zeros(1, 2, 3, 4)), "head size");
        Throws(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(2, 2, 3, 8), Tensor.Zeros(2, 2, 3, 8)), "batch");
        Throws(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 2, 2, 8), Tensor.Zeros(1, 2, 2, 8)), "Tq ≤ Tk");
        Throws(() => Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 2, 0, 8), Tensor.Zeros(1, 2, 0, 8), causal: false), "no positions");
        Throws(() => Ops.ScaledDotProductAttention(q, k, v, scale: float.PositiveInfinity), "finite");
        // Non-causal attention may have more queries than keys.
        Assert.Equal([1, 4, 3, 8], Ops.ScaledDotProductAttention(q, Tensor.Zeros(1, 2, 2, 8), Tensor.Zeros(1, 2, 2, 8), causal: false).ShapeArray());
    }
}
