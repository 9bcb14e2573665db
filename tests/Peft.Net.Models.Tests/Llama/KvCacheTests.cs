using Peft.Net.Core;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Models.Tests.Llama;

public class KvCacheTests
{
    [Theory]
    [MemberData(nameof(LlamaFixtures.Variants), MemberType = typeof(LlamaFixtures))]
    public void PrefillThenDecodeStepsGiveTheFullSequenceLogits(string variant)
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder(variant));
        int[] ids = [1, 17, 42, 99, 3, 250, 7, 8, 9];
        using var _ = Tensor.NoGrad();
        var full = model.Forward(ids, 1, ids.Length).AsSpan().ToArray();
        var cache = new KvCache(model.Config, 1, 16);
        var prefill = model.Forward(ids.AsSpan(0, 4), 1, 4, cache);
        Assert.Equal(4, cache.Length);
        TensorAssert.Close(full.AsSpan(0, 4 * 256), prefill.AsSpan(), 1e-5, 1e-5, "prefill");
        for (int t = 4; t < ids.Length; t++)
        {
            var step = model.Forward(ids.AsSpan(t, 1), 1, 1, cache);
            TensorAssert.CloseToScale(full.AsSpan(t * 256, 256), step.AsSpan(), 1e-5, $"step {t}");
        }
        Assert.Equal(ids.Length, cache.Length);
    }

    [Fact]
    public void BatchedCacheMatchesTheFullBatch()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig(), new TensorRandom(3));
        int[] ids = [1, 5, 9, 13, 17, 2, 4, 6, 8, 10];
        using var _ = Tensor.NoGrad();
        var full = model.Forward(ids, 2, 5).AsSpan().ToArray();
        var cache = new KvCache(model.Config, 2, 5);
        model.Forward([1, 5, 9, 2, 4, 6], 2, 3, cache);
        model.Forward([13, 8], 2, 1, cache);
        var last = model.Forward([17, 10], 2, 1, cache).AsSpan();
        TensorAssert.CloseToScale(full.AsSpan(4 * 50, 50), last.Slice(0, 50), 1e-5, "sequence 0");
        TensorAssert.CloseToScale(full.AsSpan(9 * 50, 50), last.Slice(50, 50), 1e-5, "sequence 1");
    }

    [Theory]
    [InlineData(true, 0f, 0, 1f)]
    [InlineData(false, 0.8f, 20, 0.9f)]
    [InlineData(false, 1.3f, 0, 1f)]
    public void CachedGenerationEqualsFullRecomputation(bool greedy, float temperature, int topK, float topP)
    {
        var model = LlamaForCausalLM.FromPretrained(LlamaFixtures.Folder("qwen2"));
        var options = new GenerationOptions
        {
            MaxNewTokens = 20, Greedy = greedy, Temperature = greedy ? 1f : temperature, TopK = topK, TopP = topP,
            RepetitionPenalty = 1.1f, Seed = 7, StopTokens = [],
        };
        int[] prompt = [1, 17, 42];
        var cached = model.Generate(prompt, options);
        var recomputed = model.Generate(prompt, options with { UseCache = false });
        Assert.Equal(20, cached.Length);
        Assert.Equal(recomputed, cached);
    }

    [Theory]
    [InlineData(1)] // the returned keys and values are views of the cache's buffers
    [InlineData(2)] // they are copies
    public void EachAppendReturnsEveryStoredPositionAndEarlierResultsStayValid(int batch)
    {
        const int kvHeads = 2, headDim = 3, row = kvHeads * headDim;
        var layer = new LayerKvCache(batch, kvHeads, maxLength: 8, headDim);
        var random = new TensorRandom(5);
        var keys = new List<float[]>[batch];
        var values = new List<float[]>[batch];
        for (int s = 0; s < batch; s++) { keys[s] = []; values[s] = []; }
        var returned = new List<(Tensor Keys, Tensor Values, float[] KeysThen, float[] ValuesThen)>();
        int start = 0;
        foreach (int time in new[] { 3, 1, 2 })
        {
            var key = Tensor.Normal([batch, time, kvHeads, headDim], 0, 1, random);
            var value = Tensor.Normal([batch, time, kvHeads, headDim], 0, 1, random);
            for (int s = 0; s < batch; s++)
            {
                keys[s].Add(key.AsSpan().Slice(s * time * row, time * row).ToArray());
                values[s].Add(value.AsSpan().Slice(s * time * row, time * row).ToArray());
            }
            var (k, v) = layer.Append(start, key, value);
            start += time;
            Assert.Equal([batch, start, kvHeads, headDim], k.Shape.ToArray());
            Assert.Equal([batch, start, kvHeads, headDim], v.Shape.ToArray());
            float[] expectedKeys = [.. keys.SelectMany(chunks => chunks.SelectMany(c => c))];
            float[] expectedValues = [.. values.SelectMany(chunks => chunks.SelectMany(c => c))];
            TensorAssert.BitEqual(expectedKeys, k.AsSpan().ToArray(), $"keys after {start} positions");
            TensorAssert.BitEqual(expectedValues, v.AsSpan().ToArray(), $"values after {start} positions");
            returned.Add((k, v, expectedKeys, expectedValues));
        }
        foreach (var (k, v, keysThen, valuesThen) in returned) // later appends wrote past each earlier result
        {
            TensorAssert.BitEqual(keysThen, k.AsSpan().ToArray(), "an earlier keys result");
            TensorAssert.BitEqual(valuesThen, v.AsSpan().ToArray(), "an earlier values result");
        }
    }

    [Fact]
    public void ACacheThatIsFullOrOfAnotherBatchIsRefused()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig());
        using var _ = Tensor.NoGrad();
        var cache = new KvCache(model.Config, 1, 4);
        model.Forward([1, 2, 3], 1, 3, cache);
        var full = Assert.Throws<InvalidOperationException>(() => model.Forward([4, 5], 1, 2, cache));
        Assert.Contains("4 positions", full.Message);
        Assert.Throws<ArgumentException>(() => model.Forward([4, 5], 2, 1, cache));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvCache(model.Config, 1, 65));
    }

    [Fact]
    public void CachedForwardWithAutogradOnIsRefused()
    {
        var model = new LlamaForCausalLM(LlamaFixtures.TinyConfig());
        var cache = new KvCache(model.Config, 1, 4);
        var error = Assert.Throws<InvalidOperationException>(() => model.Forward([1, 2], 1, 2, cache));
        Assert.Contains("NoGrad", error.Message);
        Assert.Equal(0, cache.Length);
    }
}
