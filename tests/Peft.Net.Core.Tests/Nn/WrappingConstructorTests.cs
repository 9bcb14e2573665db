using Peft.Net.Core.Nn;

namespace Peft.Net.Core.Tests.Nn;

/// <summary>Linear(weight, bias) and Embedding(weight) wrap checkpoint tensors as they are.</summary>
public class WrappingConstructorTests
{
    [Fact]
    public void LinearWrapsItsTensorsWithoutCopying()
    {
        var weight = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 3, 2);
        var bias = Tensor.FromArray([0.5f, 0f, -0.5f]);
        var linear = new Linear(weight, bias);
        Assert.Same(weight, linear.Weight);
        Assert.Same(bias, linear.Bias);
        Assert.Equal((2, 3), (linear.InFeatures, linear.OutFeatures));
        Assert.True(weight.RequiresGrad);
        Assert.Equal([1.5f, 3f, 4.5f], linear.Forward(Tensor.FromArray([1f, 0f], 1, 2)).ToArray());
    }

    [Fact]
    public void ABf16LinearWeightStaysFrozen()
    {
        var weight = Tensor.FromArray([1f, 2f], 1, 2).To(DType.BF16);
        var linear = new Linear(weight, null);
        Assert.False(linear.Weight.RequiresGrad);
        Assert.Equal([5f], linear.Forward(Tensor.FromArray([1f, 2f], 1, 2)).ToArray());
    }

    [Fact]
    public void BadShapesAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new Linear(Tensor.Zeros(3), null));
        Assert.Throws<ArgumentException>(() => new Linear(Tensor.Zeros(3, 2), Tensor.Zeros(2)));
        Assert.Throws<ArgumentException>(() => new Linear(Tensor.Wrap(new int[6], 3, 2), null));
        Assert.Throws<ArgumentException>(() => new Embedding(Tensor.Zeros(4)));
    }

    [Fact]
    public void EmbeddingWrapsItsTable()
    {
        var table = Tensor.FromArray([0f, 1f, 2f, 3f, 4f, 5f], 3, 2);
        var embedding = new Embedding(table);
        Assert.Same(table, embedding.Weight);
        Assert.Equal((3, 2), (embedding.NumEmbeddings, embedding.EmbeddingDim));
        Assert.Equal([4f, 5f, 0f, 1f], embedding.Forward([2, 0], 2).ToArray());
    }
}
