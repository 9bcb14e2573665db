using Peft.Net.Core.Autograd;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Autograd;

public sealed class CheckpointTests
{
    /// <summary>x [N, 8] → linear 8→16, dropout, GELU, linear 16→8.</summary>
    internal sealed class Block : Module
    {
        public Block(float dropout, ulong seed)
        {
            var random = new TensorRandom(seed);
            RegisterModule("fc1", new Linear(8, 16, random: random));
            RegisterModule("dropout", new Dropout(dropout, seed + 1));
            RegisterModule("fc2", new Linear(16, 8, random: random));
        }

        public override Tensor Forward(Tensor input) =>
            Child<Module>("fc2").Forward(Ops.Gelu(Child<Module>("dropout").Forward(Child<Module>("fc1").Forward(input))));
    }

    private static int[] Bits(Tensor t) => t.AsSpan().ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>Three blocks in a row on x (requires grad), summed; returns the loss, x and the blocks.</summary>
    private static (float Loss, Tensor X, Block[] Blocks) RunStack(bool checkpoint, float dropout, int steps = 1)
    {
        var x = Tensor.Normal([4, 8], 0, 1, new TensorRandom(9));
        x.RequiresGrad = true;
        var blocks = Enumerable.Range(0, 3).Select(i => new Block(dropout, (ulong)(10 * i + 1))).ToArray();
        float loss = 0;
        for (int step = 0; step < steps; step++)
        {
            var h = x;
            foreach (var block in blocks) h = checkpoint ? Checkpoint.Run(block, h) : block.Forward(h);
            var total = Ops.Sum(Ops.Mul(h, h));
            total.Backward();
            loss = total.Item();
        }
        return (loss, x, blocks);
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.3f)]
    public void Checkpointed_blocks_give_bit_identical_losses_and_gradients(float dropout)
    {
        // Two steps: the second checks that the dropout generators continue where the plain run's do.
        var plain = RunStack(checkpoint: false, dropout, steps: 2);
        var checkpointed = RunStack(checkpoint: true, dropout, steps: 2);

        Assert.Equal(BitConverter.SingleToInt32Bits(plain.Loss), BitConverter.SingleToInt32Bits(checkpointed.Loss));
        Assert.Equal(Bits(plain.X.Grad!), Bits(checkpointed.X.Grad!));
        for (int i = 0; i < plain.Blocks.Length; i++)
        {
            var expected = plain.Blocks[i].NamedParameters().ToList();
            var actual = checkpointed.Blocks[i].NamedParameters().ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int p = 0; p < expected.Count; p++)
                Assert.Equal(Bits(expected[p].Parameter.Grad!), Bits(actual[p].Parameter.Grad!));
            var generator = (Dropout)plain.Blocks[i].GetSubmodule("dropout");
            var checkpointedGenerator = (Dropout)checkpointed.Blocks[i].GetSubmodule("dropout");
            Assert.Equal(generator.Random.GetState(), checkpointedGenerator.Random.GetState());
        }
    }

    [Fact]
    public void Dropout_masks_repeat_on_the_recompute()
    {
        // With p = 0.5 a fresh mask on the recompute would change the gradient; compare with the plain graph.
        var block = new Block(0.5f, 3);
        var x = Tensor.Normal([6, 8], 0, 1, new TensorRandom(4));
        x.RequiresGrad = true;
        var state = ((Dropout)block.GetSubmodule("dropout")).Random.GetState();
        Ops.Sum(Checkpoint.Run(block, x)).Backward();
        var checkpointedGrad = Bits(x.Grad!);

        x.Grad = null;
        ((Dropout)block.GetSubmodule("dropout")).Random.SetState(state);
        Ops.Sum(block.Forward(x)).Backward();
        Assert.Equal(Bits(x.Grad!), checkpointedGrad);
    }

    [Fact]
    public void Gradients_through_a_checkpoint_match_finite_differences()
    {
        var random = new TensorRandom(5);
        var x = Tensor.Normal([3, 4], 0, 1, random);
        var w = Tensor.Normal([4, 4], 0, 0.5f, random);
        x.RequiresGrad = w.RequiresGrad = true;
        // Two outputs, the second computed from the first, both feeding the result.
        static Tensor[] Forward(Tensor[] v)
        {
            var h = Ops.Silu(Ops.MatMul(v[0], v[1]));
            return [h, Ops.Mul(h, v[0])];
        }
        GradCheck.Assert(v =>
        {
            var outputs = Checkpoint.Run(Forward, v, parametersRequireGrad: false, []);
            return Ops.Add(Ops.Mul(outputs[0], outputs[0]), outputs[1]);
        }, [x, w]);
    }

    [Fact]
    public void Multiple_outputs_get_the_same_gradients_as_without_a_checkpoint()
    {
        var linear = new Linear(5, 5, random: new TensorRandom(2));
        var x = Tensor.Normal([2, 5], 0, 1, new TensorRandom(3));
        x.RequiresGrad = true;
        Tensor[] Forward(Tensor[] v)
        {
            var sum = Ops.Add(linear.Forward(v[0]), v[1]);
            return [sum, Ops.Silu(sum)];
        }
        Tensor Loss(Tensor[] outputs) => Ops.Sum(Ops.Add(Ops.Mul(outputs[0], outputs[1]), outputs[1]));

        Loss(Forward([x, x])).Backward();
        var expectedX = Bits(x.Grad!);
        var expectedW = Bits(linear.Weight.Grad!);
        x.Grad = null;
        linear.ZeroGrad();
        Loss(Checkpoint.Run([linear], Forward, x, x)).Backward();

        Assert.Equal(expectedX, Bits(x.Grad!));
        Assert.Equal(expectedW, Bits(linear.Weight.Grad!));
    }

    [Fact]
    public void Only_parameters_requiring_grad_is_enough_to_checkpoint()
    {
        var block = new Block(0f, 7);
        var x = Tensor.Normal([2, 8], 0, 1, new TensorRandom(1)); // a plain input, as token embeddings of a frozen model
        var y = Checkpoint.Run(block, x);
        Assert.True(y.RequiresGrad);
        Ops.Sum(y).Backward();
        var checkpointed = block.Parameters().Select(p => Bits(p.Grad!)).ToList();

        block.ZeroGrad();
        Ops.Sum(block.Forward(x)).Backward();
        Assert.Equal(block.Parameters().Select(p => Bits(p.Grad!)).ToList(), checkpointed);
        Assert.Null(x.Grad);
    }

    [Fact]
    public void Without_anything_to_differentiate_the_block_just_runs()
    {
        var block = new Block(0.3f, 7);
        block.RequiresGrad(false);
        var x = Tensor.Normal([2, 8], 0, 1, new TensorRandom(1));
        var y = Checkpoint.Run(block, x);
        Assert.True(y.IsLeaf);
        Assert.False(y.RequiresGrad);

        block.RequiresGrad(true);
        x.RequiresGrad = true;
        using (Tensor.NoGrad())
        {
            var z = Checkpoint.Run(block, x);
            Assert.True(z.IsLeaf);
            Assert.False(z.RequiresGrad);
        }
    }

    [Fact]
    public void A_block_that_returns_its_input_passes_the_gradient_through()
    {
        var x = Tensor.Normal([3], 0, 1, new TensorRandom(1));
        x.RequiresGrad = true;
        var y = Checkpoint.Run(v => [v[0]], [x], parametersRequireGrad: false, [])[0];
        Assert.NotSame(x, y);
        Assert.True(x.IsLeaf);
        Ops.Sum(Ops.Mul(y, y)).Backward();
        Assert.Equal(x.AsSpan().ToArray().Select(v => 2 * v), x.Grad!.AsSpan().ToArray());
    }

    [Fact]
    public void Checkpoints_nest()
    {
        var inner = new Block(0.2f, 1);
        var outer = new Block(0.2f, 2);
        var x = Tensor.Normal([4, 8], 0, 1, new TensorRandom(6));
        x.RequiresGrad = true;
        var states = new[] { inner, outer }.Select(b => ((Dropout)b.GetSubmodule("dropout")).Random.GetState()).ToArray();

        Ops.Sum(outer.Forward(inner.Forward(x))).Backward();
        var expected = Bits(x.Grad!);
        var expectedInner = inner.Parameters().Select(p => Bits(p.Grad!)).ToList();

        x.Grad = null;
        inner.ZeroGrad();
        outer.ZeroGrad();
        ((Dropout)inner.GetSubmodule("dropout")).Random.SetState(states[0]);
        ((Dropout)outer.GetSubmodule("dropout")).Random.SetState(states[1]);
        var y = Checkpoint.Run([inner, outer], v => [outer.Forward(Checkpoint.Run(inner, v[0]))], x)[0];
        Ops.Sum(y).Backward();
        Assert.Equal(expected, Bits(x.Grad!));
        Assert.Equal(expectedInner, inner.Parameters().Select(p => Bits(p.Grad!)).ToList());
    }

    [Fact]
    public void A_block_returning_a_different_number_of_outputs_on_the_recompute_is_an_error()
    {
        var x = Tensor.Normal([3], 0, 1, new TensorRandom(1));
        x.RequiresGrad = true;
        int calls = 0;
        var y = Checkpoint.Run(v => ++calls == 1 ? [Ops.Silu(v[0])] : [Ops.Silu(v[0]), v[0]], [x], false, [])[0];
        Assert.Throws<InvalidOperationException>(() => Ops.Sum(y).Backward());
    }
}
