using Peft.Net.Core;
using Peft.Net.Lora;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>Measures the managed heap, so it runs alone: no other test's allocations enter the numbers.</summary>
[Collection(HeapMeasurements.Name)]
public sealed class GradientCheckpointingMemoryTests
{
    [Fact]
    public void Checkpointing_holds_less_activation_memory_between_forward_and_backward()
    {
        // 8 layers, B·T = 128 rows of width 64 (MLP 256): without checkpointing each layer keeps its projections, LoRA
        // intermediates, attention probabilities and MLP activations; with it, only its two (B, T, C) outputs, plus
        // one layer's activations that the model's buffer pool keeps for the next layer.
        long Retained(bool checkpointing)
        {
            var model = new LlamaForCausalLM(new LlamaConfig
            {
                HiddenSize = 64, IntermediateSize = 256, NumHiddenLayers = 8, NumAttentionHeads = 4, NumKeyValueHeads = 4, VocabSize = 32,
            }, new TensorRandom(1));
            model.ApplyLora(rank: 4, alpha: 8, dropout: 0.1f);
            model.Train();
            model.GradientCheckpointing = checkpointing;
            var random = new TensorRandom(2);
            var ids = Enumerable.Range(0, 2 * 64).Select(_ => random.NextInt(32)).ToArray();
            long before = GC.GetTotalMemory(forceFullCollection: true);
            var loss = model.Loss(ids, ids, 2, 64);
            long held = GC.GetTotalMemory(forceFullCollection: true) - before;
            loss.Backward();
            GC.KeepAlive(model);
            return held;
        }

        Retained(true); // warm-up: JIT and first-use caches
        long plain = Retained(false);
        long checkpointed = Retained(true);
        Assert.True(checkpointed * 3 < plain, $"retained {checkpointed} bytes with checkpointing, {plain} without");
    }
}
