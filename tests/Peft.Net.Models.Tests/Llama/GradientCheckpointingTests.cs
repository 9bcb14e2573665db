using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>
/// <see cref="LlamaModel.GradientCheckpointing"/>: the recompute repeats the forward pass operation for operation
/// (dropout masks included), so losses and gradients are bit-identical to those without it.
/// </summary>
public sealed class GradientCheckpointingTests
{
    private const int Batch = 2, Time = 12;

    private static LlamaForCausalLM Tiny(string method, float dropout, int layers = 3, ulong seed = 5)
    {
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = layers, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 40,
        }, new TensorRandom(seed));
        if (method == "qlora") model.QuantizeNf4(QuantType.Nf4, blockSize: 64, doubleQuant: true);
        if (method is "lora" or "qlora") model.ApplyLora(rank: 4, alpha: 8, dropout: dropout, seed: 3);
        if (method == "dora") model.ApplyDora(rank: 4, alpha: 8, dropout: dropout, seed: 3);
        model.Train();
        return model;
    }

    private static int[] Ids(int seed)
    {
        var random = new TensorRandom((ulong)seed);
        return Enumerable.Range(0, Batch * Time).Select(_ => random.NextInt(40)).ToArray();
    }

    private static int[] Bits(Tensor t) => t.AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>Three AdamW steps; the losses, and every trainable gradient of the last step, as bits.</summary>
    private static (int[] Losses, List<(string Name, int[] Grad)> Grads) Train(LlamaForCausalLM model)
    {
        var optimizer = new AdamW(model.TrainableParameters(), learningRate: 1e-2);
        var losses = new List<int>();
        for (int step = 0; step < 3; step++)
        {
            optimizer.ZeroGrad();
            var ids = Ids(step);
            var loss = model.Loss(ids, ids, Batch, Time);
            loss.Backward();
            losses.Add(BitConverter.SingleToInt32Bits(loss.Item()));
            if (step < 2) optimizer.Step();
        }
        var grads = model.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => (p.Name, Bits(p.Parameter.Grad!))).ToList();
        return (losses.ToArray(), grads);
    }

    [Theory]
    [InlineData("lora", 0f)]
    [InlineData("lora", 0.1f)]
    [InlineData("qlora", 0.1f)]
    [InlineData("dora", 0f)]
    [InlineData("dora", 0.1f)]
    [InlineData("full", 0f)]
    public void Losses_and_gradients_are_bit_identical_with_checkpointing(string method, float dropout)
    {
        var plain = Tiny(method, dropout);
        var checkpointed = Tiny(method, dropout);
        checkpointed.GradientCheckpointing = true;
        Assert.True(checkpointed.Model.GradientCheckpointing);

        var expected = Train(plain);
        var actual = Train(checkpointed);

        Assert.Equal(expected.Losses, actual.Losses);
        Assert.Equal(expected.Grads.Select(g => g.Name), actual.Grads.Select(g => g.Name));
        if (method == "dora") Assert.Contains(actual.Grads, g => g.Name.Contains("lora_magnitude_vector", StringComparison.Ordinal));
        if (method == "full") Assert.Contains(actual.Grads, g => g.Name.EndsWith("input_layernorm.weight", StringComparison.Ordinal));
        for (int i = 0; i < expected.Grads.Count; i++)
            Assert.True(expected.Grads[i].Grad.SequenceEqual(actual.Grads[i].Grad), $"{expected.Grads[i].Name} differs");
    }

    [Fact]
    public void A_steady_state_checkpointed_step_reuses_the_models_buffers()
    {
        // The discarded forward activations and the recompute's come from the model's buffer pool, as a plain step's do.
        // (B, T, C) = (2, 32, 64): activations large enough to be pooled.
        var model = new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2, VocabSize = 128,
        }, new TensorRandom(3));
        model.ApplyLora(rank: 4, alpha: 8, dropout: 0.1f);
        model.Train();
        model.GradientCheckpointing = true;
        var random = new TensorRandom(4);
        var ids = Enumerable.Range(0, 2 * 32).Select(_ => random.NextInt(128)).ToArray();
        long Step()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            model.ZeroGrad();
            model.Loss(ids, ids, 2, 32).Backward();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Step();
        Step();
        long steady = Step();
        model.GradientCheckpointing = false;
        Step();
        long plain = Step();
        // Both steady steps allocate only small objects (nodes, closures, arrays below the pooling size); the recompute
        // adds about one forward pass's worth of them. Without the pool, the checkpointed step allocates ~7× the plain one.
        Assert.True(steady < 2 * plain, $"a steady checkpointed step allocated {steady} bytes, a plain one {plain}");
    }

    [Fact]
    public void Evaluation_no_grad_and_generation_are_unaffected()
    {
        var plain = Tiny("lora", 0.1f);
        var checkpointed = Tiny("lora", 0.1f);
        checkpointed.GradientCheckpointing = true;
        var ids = Ids(1);

        // Training mode under NoGrad (nothing to recompute) and evaluation mode with recording on.
        using (Tensor.NoGrad())
            Assert.Equal(Bits(plain.Forward(ids, Batch, Time)), Bits(checkpointed.Forward(ids, Batch, Time)));
        plain.Eval();
        checkpointed.Eval();
        var evalLogits = checkpointed.Forward(ids, Batch, Time);
        Assert.Equal(Bits(plain.Forward(ids, Batch, Time)), Bits(evalLogits));

        var options = new GenerationOptions { MaxNewTokens = 6 };
        Assert.Equal(plain.Generate(ids.AsSpan(0, Time), options), checkpointed.Generate(ids.AsSpan(0, Time), options));
        Assert.True(checkpointed.GradientCheckpointing);
    }
}
