using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Models.Tests.Llama;

namespace Peft.Net.Models.Tests.Families;

/// <summary>Sliding-window attention on a Mistral-style model, and the eager attention path against the fused kernel.</summary>
public class SlidingWindowTests
{
    [Fact]
    public void MistralWindowChangesOnlyThePositionsThatReachBeyondIt()
    {
        var config = LlamaFixtures.TinyConfig() with { ModelType = "mistral", SlidingWindow = 4 };
        var windowed = new LlamaForCausalLM(config, new TensorRandom(3));
        var full = new LlamaForCausalLM(config with { SlidingWindow = null }, new TensorRandom(3));
        int[] ids = [1, 7, 3, 9, 11, 4, 20];
        using var _ = Tensor.NoGrad();
        var a = windowed.Forward(ids, 1, ids.Length).AsSpan();
        var b = full.Forward(ids, 1, ids.Length).AsSpan();
        int v = config.VocabSize;
        // Positions 0..3 see at most 4 keys: the window hides nothing (and the fused kernel runs in both models).
        TensorAssert.Close(b[..(4 * v)], a[..(4 * v)], 1e-5, 1e-5, "positions inside the window");
        for (int t = 4; t < ids.Length; t++)
        {
            double difference = 0;
            for (int i = 0; i < v; i++) difference = Math.Max(difference, Math.Abs(a[t * v + i] - b[t * v + i]));
            Assert.True(difference > 1e-4, $"position {t} sees 5+ keys without the window, 4 with it; the logits should differ");
        }
    }

    [Fact]
    public void WindowedForwardWithCacheEqualsTheFullRecomputation()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig() with { ModelType = "mistral", SlidingWindow = 3 }, new TensorRandom(8));
        int[] ids = [1, 7, 3, 9, 11, 4, 20, 5];
        using var _ = Tensor.NoGrad();
        var full = model.Forward(ids, 1, ids.Length).ToArray();
        var cache = new KvCache(model.Config, 1, ids.Length);
        var prefill = model.Forward(ids.AsSpan(0, 5), 1, 5, cache).ToArray();
        int v = model.Config.VocabSize;
        TensorAssert.Close(full.AsSpan(0, 5 * v), prefill, 1e-5, 1e-5, "prefill");
        for (int t = 5; t < ids.Length; t++)
            TensorAssert.Close(full.AsSpan(t * v, v), model.Forward(ids.AsSpan(t, 1), 1, 1, cache).AsSpan(), 1e-5, 1e-5, $"decode step {t}");
    }

    // q: (B, Tq, H, D)  k, v: (B, Tk, Hkv, D)
    [Theory]
    [InlineData(1, 5, 5, 4, 4)]
    [InlineData(2, 6, 6, 4, 2)]
    [InlineData(2, 3, 7, 4, 1)]
    public void EagerAttentionWithoutMaskingEqualsTheFusedKernelForwardAndBackward(int batch, int tq, int tk, int heads, int kvHeads)
    {
        const int d = 8;
        var random = new TensorRandom(5);
        Tensor Leaf(params int[] shape)
        {
            var t = Tensor.Normal(shape, 0f, 1f, random);
            t.RequiresGrad = true;
            return t;
        }
        var q = Leaf(batch, tq, heads, d);
        var k = Leaf(batch, tk, kvHeads, d);
        var v = Leaf(batch, tk, kvHeads, d);
        var weights = Tensor.Normal([batch, tq, heads * d], 0f, 1f, random);
        float scale = 0.3f;

        var eager = EagerAttention.Forward(q, k, v, scale, softcap: null, window: null, keyMask: null);
        Ops.Sum(Ops.Mul(eager, weights)).Backward();
        var (eq, ek, ev) = (q.Grad!.ToArray(), k.Grad!.ToArray(), v.Grad!.ToArray());
        q.Grad = null; k.Grad = null; v.Grad = null;
        var fused = Ops.ScaledDotProductAttention(q, k, v, causal: true, scale: scale, layout: AttentionLayout.BatchTimeHeads).Reshape(batch, tq, heads * d);
        Ops.Sum(Ops.Mul(fused, weights)).Backward();

        TensorAssert.Close(fused.AsSpan(), eager.AsSpan(), 1e-5, 1e-4, "output");
        TensorAssert.Close(q.Grad!.AsSpan(), eq, 1e-5, 1e-4, "dq");
        TensorAssert.Close(k.Grad!.AsSpan(), ek, 1e-5, 1e-4, "dk");
        TensorAssert.Close(v.Grad!.AsSpan(), ev, 1e-5, 1e-4, "dv");
    }

    [Fact]
    public void EagerMaskHidesFutureKeysKeysBeyondTheWindowAndPadding()
    {
        // B = 2, one kv head, G = 1, Tq = 3 new queries after 2 cached keys (Tk = 5), window 3; row 1 has key 0 as padding.
        bool[] keyMask = [true, true, true, true, true, false, true, true, true, true];
        var mask = EagerAttention.Mask(2, 1, 1, 3, 5, 3, keyMask).ToArray();
        string Row(int b, int i) => string.Concat(Enumerable.Range(0, 5).Select(j => mask[(b * 3 + i) * 5 + j] == 0 ? '1' : '.'));
        Assert.Equal(["111..", ".111.", "..111"], new[] { Row(0, 0), Row(0, 1), Row(0, 2) });
        Assert.Equal([".11..", ".111.", "..111"], new[] { Row(1, 0), Row(1, 1), Row(1, 2) });
        Assert.Equal(float.MinValue, mask[3]);
    }
}
