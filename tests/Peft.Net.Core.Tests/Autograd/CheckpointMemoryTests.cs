using Peft.Net.Core.Autograd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Autograd;

/// <summary>Measures the managed heap, so it runs alone: no other test's allocations enter the numbers.</summary>
[Collection(HeapMeasurements.Name)]
public sealed class CheckpointMemoryTests
{
    [Fact]
    public void Checkpointing_releases_the_activations_between_forward_and_backward()
    {
        // 8 blocks on a 2048 × 8 input: the plain graph keeps every block's fc1 output, mask, dropout and GELU
        // results (4 × 2048 × 16 floats each); the checkpointed one keeps each block's input and output only.
        long Retained(bool checkpoint)
        {
            var blocks = Enumerable.Range(0, 8).Select(i => new CheckpointTests.Block(0.1f, (ulong)i)).ToArray();
            var x = Tensor.Normal([2048, 8], 0, 1, new TensorRandom(2));
            x.RequiresGrad = true;
            long before = GC.GetTotalMemory(forceFullCollection: true);
            var h = x;
            foreach (var block in blocks) h = checkpoint ? Checkpoint.Run(block, h) : block.Forward(h);
            var loss = Ops.Sum(h);
            long held = GC.GetTotalMemory(forceFullCollection: true) - before;
            loss.Backward();
            GC.KeepAlive(blocks);
            return held;
        }

        Retained(true); // warm-up: JIT and first-use caches
        long plain = Retained(false);
        long checkpointed = Retained(true);
        Assert.True(checkpointed * 4 < plain, $"retained {checkpointed} bytes with checkpointing, {plain} without");
    }
}
