using Peft.Net.Core.Autograd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Autograd;

/// <summary>
/// Gradient buffers handed over between views and recycled within a backward pass, and activation buffers recycled
/// between passes by <see cref="ActivationArena"/>: every gradient must be what a pass without reuse computes.
/// </summary>
public class GradientBufferReuseTests
{
    [Fact]
    public void A_tensor_read_through_two_reshapes_receives_the_sum_of_both_gradients()
    {
        var x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 2, 3);
        x.RequiresGrad = true;
        var w = Tensor.FromArray([1f, -2f, 3f, 0.5f, 2f, -1f], 6, 1);
        // d/dx of (reshape(x)·w + sum(reshape(x)²)) = w + 2x, both paths arriving through reshapes.
        var flat = x.Reshape(1, 6);
        var y = Ops.Add(Ops.MatMul(flat, w).Reshape(1), Ops.Sum(Ops.Mul(x.Reshape(6), x.Reshape(6))).Reshape(1));
        Ops.Sum(y).Backward();
        Assert.Equal([3f, 2f, 9f, 8.5f, 12f, 11f], x.Grad!.ToArray());
        GradCheck.Assert(t => Ops.Add(Ops.MatMul(t[0].Reshape(1, 6), w).Reshape(1), Ops.Sum(Ops.Mul(t[0].Reshape(6), t[0].Reshape(6))).Reshape(1)), [x]);
    }

    [Fact]
    public void AddRmsNorm_with_the_same_tensor_as_residual_and_input_doubles_its_gradient()
    {
        var random = new TensorRandom(3);
        var x = Tensor.Normal([4, 8], 0, 1, random);
        var weight = Tensor.Normal([8], 1, 0.1f, random);
        x.RequiresGrad = true;
        GradCheck.Assert(t =>
        {
            var (sum, normed) = Ops.AddRmsNorm(t[0], t[0], weight);
            return Ops.Add(sum, normed);
        }, [x]);
    }

    [Fact]
    public void A_deep_chain_with_recycled_gradient_buffers_matches_finite_differences()
    {
        // Six identical blocks: the backward pass reuses the gradient buffers of the later blocks for earlier ones.
        var random = new TensorRandom(11);
        var weights = Enumerable.Range(0, 6).Select(_ => Tensor.Normal([16, 16], 0, 0.3f, random)).ToArray();
        var x = Tensor.Normal([2, 3, 16], 0, 1, random);
        x.RequiresGrad = true;
        foreach (var w in weights) w.RequiresGrad = true;
        GradCheck.Assert(t =>
        {
            var h = t[0];
            for (int i = 1; i < t.Length; i++)
                h = Ops.Add(h, Ops.Silu(Ops.Linear(h.Reshape(-1, 16), t[i]).Reshape(2, 3, 16)));
            return h;
        }, [x, .. weights], rtol: 2e-2f, atol: 2e-3f);
    }

    [Fact]
    public void Kernels_that_store_into_a_fresh_gradient_add_when_the_input_already_has_one()
    {
        // SiluMul, RmsNorm and Rotary store into an input's gradient buffer when it is new (no zero-fill) and add
        // otherwise. Each input here also reaches the loss by a second path, taken first or second in the backward pass,
        // and SiluMul also sees one tensor as both operands: a gradient that was stored over would fail the check.
        var random = new TensorRandom(21);
        var a = Tensor.Normal([2, 3, 8], 0, 1, random);
        var b = Tensor.Normal([2, 3, 8], 0, 1, random);
        var weight = Tensor.Normal([8], 1, 0.2f, random);
        var cos = Tensor.Normal([3, 8], 0, 1, random);
        var sin = Tensor.Normal([3, 8], 0, 1, random);
        a.RequiresGrad = b.RequiresGrad = weight.RequiresGrad = true;
        GradCheck.Assert(t => Ops.Add(Ops.SiluMul(t[0], t[1]), Ops.Mul(t[1], t[1])), [a, b]);
        GradCheck.Assert(t => Ops.Add(Ops.Mul(t[0], t[0]), Ops.SiluMul(t[0], t[1])), [a, b]);
        GradCheck.Assert(t => Ops.SiluMul(t[0], t[0]), [a]);
        GradCheck.Assert(t => Ops.Add(Ops.RmsNorm(t[0], t[1]), Ops.Mul(t[0], t[0])), [a, weight]);
        GradCheck.Assert(t => Ops.Add(Ops.Rotary(t[0], cos, sin, 0, timeDim: 1), Ops.Mul(t[0], t[0])), [a]);
    }

    [Fact]
    public void A_swiglu_chain_whose_stored_gradients_land_in_recycled_buffers_matches_finite_differences()
    {
        // Recycled buffers hold the previous block's values: a kernel that stores must write every element of them.
        var random = new TensorRandom(23);
        const int c = 8, hidden = 12;
        var x = Tensor.Normal([2, 3, c], 0, 1, random);
        var norms = Enumerable.Range(0, 3).Select(_ => Tensor.Normal([c], 1, 0.2f, random)).ToArray();
        var gates = Enumerable.Range(0, 3).Select(_ => Tensor.Normal([hidden, c], 0, 0.4f, random)).ToArray();
        var ups = Enumerable.Range(0, 3).Select(_ => Tensor.Normal([hidden, c], 0, 0.4f, random)).ToArray();
        var downs = Enumerable.Range(0, 3).Select(_ => Tensor.Normal([c, hidden], 0, 0.4f, random)).ToArray();
        var cos = Tensor.Normal([3, c], 0, 1, random);
        var sin = Tensor.Normal([3, c], 0, 1, random);
        x.RequiresGrad = true;
        foreach (var w in gates.Concat(ups)) w.RequiresGrad = true;
        GradCheck.Assert(t =>
        {
            var h = t[0];
            for (int i = 0; i < 3; i++)
            {
                var n = Ops.Rotary(Ops.RmsNorm(h, norms[i]), cos, sin, 0, timeDim: 1).Reshape(-1, c);
                var mixed = Ops.SiluMul(Ops.Linear(n, t[1 + i]), Ops.Linear(n, t[4 + i]));
                h = Ops.Add(h, Ops.Linear(mixed, downs[i]).Reshape(2, 3, c));
            }
            return h;
        }, [x, .. gates, .. ups], rtol: 2e-2f, atol: 2e-3f);
    }

    [Fact]
    public void Leaf_gradients_survive_the_next_backward_pass_that_recycles_buffers()
    {
        var random = new TensorRandom(5);
        var w = Tensor.Normal([8, 8], 0, 0.5f, random);
        w.RequiresGrad = true;
        var x = Tensor.Normal([4, 8], 0, 1, random);
        Tensor Loss() => Ops.Sum(Ops.Silu(Ops.Linear(Ops.Silu(Ops.Linear(x, w)), w)));
        Loss().Backward();
        var first = w.Grad!.ToArray();
        Loss().Backward();
        var twice = w.Grad!.ToArray();
        for (int i = 0; i < first.Length; i++)
            Assert.Equal(2 * first[i], twice[i], 5);
    }

    [Fact]
    public void An_arena_recycles_a_graphs_results_after_its_backward_pass_and_gradients_stay_exact()
    {
        var random = new TensorRandom(9);
        var w1 = Tensor.Normal([64, 48], 0, 0.2f, random);
        var w2 = Tensor.Normal([48, 64], 0, 0.2f, random);
        w1.RequiresGrad = w2.RequiresGrad = true;
        var x = Tensor.Normal([32, 48], 0, 1, random);
        Tensor Forward() => Ops.Sum(Ops.Mul(Ops.Linear(Ops.Silu(Ops.Linear(x, w1)), w2), x));

        var expectedLoss = Forward();
        expectedLoss.Backward();
        var expected1 = w1.Grad!.ToArray();
        var expected2 = w2.Grad!.ToArray();

        var arena = new ActivationArena();
        var losses = new List<(Tensor Loss, float Value)>();
        for (int step = 0; step < 3; step++)
        {
            w1.Grad = w2.Grad = null;
            var recording = arena.Record();
            var loss = Forward();
            recording.Attach(loss);
            loss.Backward();
            Assert.Equal(expected1, w1.Grad!.ToArray());
            Assert.Equal(expected2, w2.Grad!.ToArray());
            losses.Add((loss, loss.Item()));
            Assert.True(arena.Pool.FreeBytes > 0, "the spent graph's buffers are back in the pool");
        }
        // Scalar losses are not pooled: every step's loss still reads its own value.
        foreach (var (loss, value) in losses)
            Assert.Equal(expectedLoss.Item(), value);
        foreach (var (loss, value) in losses)
            Assert.Equal(value, loss.Item());
    }

    [Fact]
    public void A_second_backward_through_a_released_graph_throws()
    {
        var w = Tensor.Normal([64, 64], 0, 0.2f, new TensorRandom(1));
        w.RequiresGrad = true;
        var x = Tensor.Normal([32, 64], 0, 1, new TensorRandom(2));
        var arena = new ActivationArena();
        var recording = arena.Record();
        var loss = Ops.Sum(Ops.Silu(Ops.Linear(x, w)));
        recording.Attach(loss);
        loss.Backward();
        var error = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("already ran", error.Message);
    }

    [Fact]
    public void Results_computed_without_recording_or_outside_a_scope_never_come_from_the_arena()
    {
        var arena = new ActivationArena();
        var x = Tensor.Normal([64, 64], 0, 1, new TensorRandom(4));
        var w = Tensor.Normal([64, 64], 0, 1, new TensorRandom(5));
        w.RequiresGrad = true;
        Tensor kept;
        var first = arena.Record();
        using (Tensor.NoGrad()) kept = Ops.Linear(x, w);   // e.g. a cache built under NoGrad
        var loss = Ops.Sum(Ops.Linear(x, w));
        first.Attach(loss);
        loss.Backward();
        var before = kept.ToArray();
        var second = arena.Record();
        loss = Ops.Sum(Ops.Mul(Ops.Linear(x, w), Tensor.Full(3f, 64, 64)));
        second.Attach(loss);
        loss.Backward();
        Assert.Equal(before, kept.ToArray());
    }

    [Fact]
    public void An_attached_result_without_a_graph_returns_its_buffers_at_once()
    {
        var arena = new ActivationArena();
        var x = Tensor.Normal([64, 64], 0, 1, new TensorRandom(4));
        var recording = arena.Record();
        var sum = Ops.Sum(Ops.Silu(x)); // nothing requires grad: no graph
        recording.Attach(sum);
        Assert.Equal(64 * 64 * sizeof(float), arena.Pool.FreeBytes); // the SiLU result is back at once
        var w = x.Detach();
        w.RequiresGrad = true;
        recording = arena.Record();
        using (Tensor.NoGrad()) sum = Ops.Sum(Ops.Silu(w)); // recording off: ordinary allocations
        recording.Attach(sum);
        Assert.Equal(64 * 64 * sizeof(float), arena.Pool.FreeBytes);
    }

    [Fact]
    public void A_failed_forward_pass_returns_its_arrays_when_the_recording_is_disposed()
    {
        var arena = new ActivationArena();
        var w = Tensor.Normal([64, 64], 0, 0.2f, new TensorRandom(1));
        w.RequiresGrad = true;
        var x = Tensor.Normal([32, 64], 0, 1, new TensorRandom(2));
        Assert.Throws<ArgumentException>(() =>
        {
            using var recording = arena.Record();
            var h = Ops.Silu(Ops.Linear(x, w));       // lent: 32 × 64 twice
            Ops.Linear(h, Tensor.Zeros(5, 7));         // wrong shape: throws before Attach
        });
        Assert.Equal(2 * 32 * 64 * sizeof(float), arena.Pool.FreeBytes);
        Assert.Null(ActivationArena.Current);
    }

    [Fact]
    public void Threads_recording_into_one_arena_at_once_keep_their_own_arrays()
    {
        var arena = new ActivationArena();
        var random = new TensorRandom(21);
        var w = Tensor.Normal([96, 96], 0, 0.2f, random);
        w.RequiresGrad = true;
        var inputs = Enumerable.Range(0, 4).Select(i => Tensor.Normal([48, 96], 0, 1, new TensorRandom((ulong)(100 + i)))).ToArray();
        float[] Gradient(Tensor x, ActivationArena? recordInto)
        {
            var leaf = w.Detach();
            leaf.RequiresGrad = true;
            var recording = recordInto?.Record();
            var loss = Ops.Sum(Ops.Silu(Ops.Linear(Ops.Silu(Ops.Linear(x, leaf)), leaf)));
            recording?.Attach(loss);
            loss.Backward();
            return leaf.Grad!.ToArray();
        }
        var expected = inputs.Select(x => Gradient(x, null)).ToArray();
        var failures = 0;
        var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
        {
            for (int round = 0; round < 25; round++)
                if (!Gradient(inputs[i], arena).AsSpan().SequenceEqual(expected[i])) Interlocked.Increment(ref failures);
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        Assert.Equal(0, failures);
    }
}
