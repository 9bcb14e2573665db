using Peft.Net.Core;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>
/// <see cref="LlamaForCausalLM.Loss"/> reuses one step's activation and gradient buffers in the next: gradients must
/// be bit-identical to a first step on fresh memory, and a steady-state step must allocate almost nothing.
/// </summary>
public class ActivationReuseTests
{
    private static LlamaConfig Config() => new()
    {
        HiddenSize = 64,
        IntermediateSize = 96,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 128,
        MaxPositionEmbeddings = 64,
    };

    // Wide: layers whose scaled B (N × R) is large enough (≥ 1,024 floats) to be lent by the activation arena.
    private static LlamaConfig WideConfig() => Config() with { HiddenSize = 256, IntermediateSize = 384, NumHiddenLayers = 1 };

    private static (LlamaForCausalLM Model, int[] Ids) LoraModel(string method, bool wide = false, bool checkpointing = false)
    {
        var model = new LlamaForCausalLM(wide ? WideConfig() : Config(), new TensorRandom(3));
        int rank = wide ? 8 : 4;
        if (method == "dora") model.ApplyDora(rank: rank, alpha: 2 * rank, targetRegex: "all-linear");
        else model.ApplyLora(rank: rank, alpha: 2 * rank, targetRegex: "all-linear");
        model.GradientCheckpointing = checkpointing;
        // B starts at zero; give it values so every path carries gradient.
        var random = new TensorRandom(8);
        foreach (var (name, p) in model.NamedParameters())
            if (name.Contains("lora_B")) Tensor.Normal(p.ShapeArray(), 0, 0.05f, random).AsSpan().CopyTo(p.AsSpan());
        model.Train();
        var ids = new int[2 * 32];
        var idRandom = new TensorRandom(1);
        for (int i = 0; i < ids.Length; i++) ids[i] = idRandom.NextInt(128);
        return (model, ids);
    }

    private static float[][] Gradients(LlamaForCausalLM model) =>
        model.TrainableParameters().Select(p => p.Grad!.ToArray()).ToArray();

    [Theory]
    [InlineData("lora", false, false)]
    [InlineData("dora", false, false)]
    [InlineData("lora", true, false)]   // the layers' scaled B lent by the arena and read back by the backward pass
    [InlineData("dora", true, false)]
    [InlineData("lora", true, true)]    // and with each layer recomputed in the backward pass
    public void Steps_on_recycled_buffers_give_the_gradients_of_a_step_on_fresh_memory(string method, bool wide, bool checkpointing)
    {
        var (fresh, ids) = LoraModel(method, wide, checkpointing);
        var expectedLoss = fresh.Loss(ids, ids, 2, 32);
        expectedLoss.Backward();
        var expected = Gradients(fresh);

        var (reused, _) = LoraModel(method, wide, checkpointing);
        for (int step = 0; step < 3; step++)
        {
            foreach (var p in reused.TrainableParameters()) p.Grad = null;
            var loss = reused.Loss(ids, ids, 2, 32);
            loss.Backward();
            Assert.Equal(expectedLoss.Item(), loss.Item());
            var actual = Gradients(reused);
            for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
        }
        Assert.True(reused.ActivationBufferBytes > 0);
    }

    [Fact]
    public void A_steady_state_step_allocates_a_small_fraction_of_the_first()
    {
        var (model, ids) = LoraModel("lora");
        long Step()
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            foreach (var p in model.TrainableParameters()) p.Grad = null;
            model.Loss(ids, ids, 2, 32).Backward();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
        long first = Step();
        Step();
        long steady = Step();
        Assert.True(steady < first / 4, $"first step allocated {first} bytes, a steady-state step {steady}");
    }

    [Fact]
    public void A_second_backward_through_the_same_loss_throws_and_releasing_the_buffers_empties_the_pool()
    {
        var (model, ids) = LoraModel("lora");
        var loss = model.Loss(ids, ids, 2, 32);
        loss.Backward();
        Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.True(model.ActivationBufferBytes > 0);
        model.ReleaseActivationBuffers();
        Assert.Equal(0, model.ActivationBufferBytes);
        model.Loss(ids, ids, 2, 32).Backward(); // still trains after the release
    }

    [Fact]
    public void An_evaluation_loss_under_NoGrad_keeps_its_value_after_training_steps()
    {
        var (model, ids) = LoraModel("lora");
        Tensor evalLoss;
        using (Tensor.NoGrad()) evalLoss = model.Loss(ids, ids, 2, 32);
        float value = evalLoss.Item();
        for (int step = 0; step < 2; step++) model.Loss(ids, ids, 2, 32).Backward();
        Assert.Equal(value, evalLoss.Item());
    }
}
