using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Nn;

public class ActivationModuleTests
{
    [Fact]
    public void SiLU_and_GELU_modules_forward_to_their_ops()
    {
        var x = Tensor.Normal([2, 9], 0, 2, new TensorRandom(1));
        TensorAssert.BitEqual(Ops.Silu(x).ToArray(), new SiLU().Forward(x).ToArray(), "SiLU");
        TensorAssert.BitEqual(Ops.Gelu(x).ToArray(), new GELU().Forward(x).ToArray(), "GELU");
        TensorAssert.BitEqual(Ops.Gelu(x, GeluApproximation.Tanh).ToArray(), new GELU("tanh").Forward(x).ToArray(), "GELU tanh");
        Assert.Equal(GeluApproximation.Tanh, new GELU("tanh").Approximation);
        Assert.Equal(GeluApproximation.None, new GELU("none").Approximation);
        var ex = Assert.Throws<ArgumentException>(() => new GELU("erf"));
        Assert.Contains("erf", ex.Message);
        Assert.Empty(new GELU().NamedParameters());
    }

    [Fact]
    public void Dropout_module_drops_in_training_and_passes_through_in_eval()
    {
        var dropout = new Dropout(0.5f, seed: 3);
        var x = Tensor.Ones(4, 64);
        var y = dropout.Forward(x).ToArray();
        Assert.Contains(0f, y);
        Assert.Contains(2f, y);
        dropout.Eval();
        Assert.Same(x, dropout.Forward(x));
        dropout.Train();
        Assert.NotSame(x, dropout.Forward(x));
        Assert.Equal(0.5f, dropout.P);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(1.01f));
    }

    [Fact]
    public void Dropout_modules_with_the_same_seed_draw_the_same_masks()
    {
        var x = Tensor.Ones(300);
        var a = new Dropout(0.2f, new TensorRandom(9)).Forward(x).ToArray();
        var b = new Dropout(0.2f, seed: 9).Forward(x).ToArray();
        Assert.Equal(a, b);
    }
}
