using Peft.Net.Core;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>
/// Batches of random lengths (what prompt/completion data gives) must not make the buffers kept between steps grow:
/// they stay under the documented bound, 2 × the working set of the longest step.
/// </summary>
public sealed class VariableLengthMemoryTests
{
    private const int MaxTime = 48;
    private const int Batch = 2;

    private static LlamaForCausalLM Model()
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 64,
            MaxPositionEmbeddings = 64,
        }, new TensorRandom(2));
        model.ApplyLora(rank: 4, alpha: 8, dropout: 0.1f);
        model.Train();
        return model;
    }

    private static void Step(LlamaForCausalLM model, int time, TensorRandom random)
    {
        var ids = new int[Batch * time];
        for (int i = 0; i < ids.Length; i++) ids[i] = random.NextInt(64);
        foreach (var p in model.TrainableParameters()) p.Grad = null;
        model.Loss(ids, ids, Batch, time).Backward();
    }

    [Fact]
    public void Five_hundred_steps_of_random_lengths_keep_the_pool_under_its_bound()
    {
        var random = new TensorRandom(9);
        var model = Model();
        Step(model, MaxTime, random);
        long workingSet = model.ActivationWorkingSetBytes;
        Assert.True(workingSet > 0);
        Assert.Equal(2 * workingSet, model.ActivationBufferLimitBytes);

        long peak = 0;
        var lengths = new HashSet<int>();
        for (int step = 0; step < 500; step++)
        {
            int time = 1 + random.NextInt(MaxTime);
            lengths.Add(time);
            Step(model, time, random);
            peak = Math.Max(peak, model.ActivationBufferBytes);
            Assert.True(model.ActivationBufferBytes <= 2 * workingSet,
                $"step {step} (T = {time}): {model.ActivationBufferBytes} bytes kept, bound {2 * workingSet}");
            // No step is larger than the full-length one, so the bound itself does not move.
            Assert.Equal(workingSet, model.ActivationWorkingSetBytes);
        }
        Assert.True(lengths.Count > 40, "the lengths must cover 1…T");
        Assert.True(peak > workingSet / 2, $"the pool keeps buffers for reuse (peak {peak} of bound {2 * workingSet})");
    }

    [Fact]
    public void Steps_of_other_lengths_reuse_the_buffers_of_their_size_class()
    {
        var random = new TensorRandom(4);
        var model = Model();
        Step(model, 40, random);
        Step(model, 40, random);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Step(model, 40, random);
        long sameLength = GC.GetAllocatedBytesForCurrentThread() - before;
        // 37…40 tokens round to the same size classes as 40: a step of 38 allocates about what a step of 40 does.
        before = GC.GetAllocatedBytesForCurrentThread();
        Step(model, 38, random);
        long otherLength = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(otherLength < 2 * sameLength + 16384, $"a 40-token step allocated {sameLength} bytes, a 38-token step {otherLength}");
    }

    [Fact]
    public void An_explicit_limit_bounds_the_pool_and_training_still_runs()
    {
        var random = new TensorRandom(5);
        var model = Model();
        model.ActivationBufferLimitOverride = 64 * 1024;
        for (int step = 0; step < 20; step++)
        {
            Step(model, 1 + random.NextInt(MaxTime), random);
            Assert.True(model.ActivationBufferBytes <= 64 * 1024);
        }
        Assert.Equal(64 * 1024, model.ActivationBufferLimitBytes);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.ActivationBufferLimitOverride = -1);
    }
}
