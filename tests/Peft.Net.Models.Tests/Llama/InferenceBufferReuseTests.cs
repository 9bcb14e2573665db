using Peft.Net.Core;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>
/// Under <see cref="Tensor.NoGrad"/>, <see cref="LlamaForCausalLM.LogitsForLastPosition(ReadOnlySpan{int}, int, int, KvCache?)"/>
/// takes its intermediate results from the buffers the model keeps for activations and returns its logits as a copy:
/// prefill and decode steps on recycled buffers (holding earlier steps' values) must give the logits of the same steps
/// on fresh memory (the buffers dropped before every step), logits handed out earlier must not change, and a
/// steady-state prefill allocates little.
/// </summary>
public class InferenceBufferReuseTests
{
    private const int Batch = 2, Prompt = 40, Steps = 6;

    // Hidden 64 × 40 positions × 2 sequences = 5,120 floats an activation: above the arena's 1,024-float minimum, so
    // the norms', projections', MLP's and attention's results are all lent.
    private static LlamaForCausalLM Model(bool lora)
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64,
            IntermediateSize = 96,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 1280, // logits of 2 × 1,280 floats: large enough to be lent, so the copy that leaves is tested
            MaxPositionEmbeddings = 64,
        }, new TensorRandom(5));
        if (lora)
        {
            model.ApplyLora(rank: 4, alpha: 8, targetRegex: "all-linear");
            var random = new TensorRandom(6);
            foreach (var (name, p) in model.NamedParameters())
                if (name.Contains("lora_B")) Tensor.Normal(p.ShapeArray(), 0, 0.05f, random).AsSpan().CopyTo(p.AsSpan());
        }
        model.Eval();
        return model;
    }

    private static int[] Ids(int count, int seed)
    {
        var random = new TensorRandom((ulong)seed);
        var ids = new int[count];
        for (int i = 0; i < count; i++) ids[i] = random.NextInt(1280);
        return ids;
    }

    // A prefill of Prompt positions, then Steps one-position decode steps, all through one KV cache, under NoGrad;
    // fresh: the model's buffers are dropped before every step, so every result lands in new memory.
    private static List<float[]> Run(LlamaForCausalLM model, bool fresh, List<Tensor>? handedOut = null)
    {
        using var noGrad = Tensor.NoGrad();
        var cache = new KvCache(model.Config, Batch, Prompt + Steps);
        var logits = new List<float[]>();
        for (int s = 0; s <= Steps; s++)
        {
            if (fresh) model.ReleaseActivationBuffers();
            var step = s == 0
                ? model.LogitsForLastPosition(Ids(Batch * Prompt, 1), Batch, Prompt, cache)
                : model.LogitsForLastPosition(Ids(Batch, 10 + s), Batch, 1, cache);
            handedOut?.Add(step);
            logits.Add(step.ToArray());
        }
        return logits;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Generation_steps_on_recycled_buffers_give_the_logits_of_fresh_memory(bool lora)
    {
        var model = Model(lora);
        var expected = Run(model, fresh: true);
        Assert.True(model.ActivationBufferBytes > 0, "the inference steps did not use the model's buffers");
        for (int pass = 0; pass < 2; pass++)
        {
            var handedOut = new List<Tensor>();
            var actual = Run(model, fresh: false, handedOut);
            for (int s = 0; s < expected.Count; s++)
            {
                Assert.Equal(expected[s], actual[s]);
                Assert.Equal(expected[s], handedOut[s].ToArray()); // later steps did not write over earlier logits
            }
        }
    }

    [Fact]
    public void Generations_on_a_reused_kv_cache_and_buffers_give_the_tokens_of_a_fresh_model()
    {
        // Generate and GenerateBatch rent their KV cache from the model's pool and give it back: later calls find the
        // buffers holding earlier calls' keys and values (and the batch's copied-out keys come from the pool too).
        var options = new GenerationOptions { MaxNewTokens = 12, StopTokens = [] };
        int[][] prompts = [Ids(Prompt, 21), Ids(Prompt - 7, 22), Ids(Prompt + 3, 23)];
        var reused = Model(lora: true);
        for (int pass = 0; pass < 2; pass++)
        {
            foreach (var prompt in prompts)
                Assert.Equal(Model(lora: true).Generate(prompt, options), reused.Generate(prompt, options));
            var expectedBatch = Model(lora: true).GenerateBatch(prompts, options);
            var actualBatch = reused.GenerateBatch(prompts, options);
            for (int r = 0; r < prompts.Length; r++) Assert.Equal(expectedBatch[r], actualBatch[r]);
        }
        Assert.True(reused.ActivationBufferBytes > 0);
    }

    [Fact]
    public void A_steady_state_prefill_allocates_a_small_fraction_of_the_first()
    {
        var model = Model(lora: true);
        var ids = Ids(Batch * Prompt, 1);
        long Prefill()
        {
            using var noGrad = Tensor.NoGrad();
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.LogitsForLastPosition(ids, Batch, Prompt);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long first = Prefill();
        Prefill();
        long steady = Prefill();
        Assert.True(steady < first / 4, $"the first prefill allocated {first} bytes, a steady-state one {steady}");
    }
}
