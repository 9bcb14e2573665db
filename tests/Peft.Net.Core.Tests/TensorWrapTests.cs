namespace Peft.Net.Core.Tests;

public sealed class TensorWrapTests
{
    [Fact]
    public void WrapTakesTheDTypeFromTheExactArrayType()
    {
        // The runtime lets sbyte[] pass an `is byte[]` test; Wrap must still see I8.
        Assert.Equal(DType.I8, Tensor.Wrap(new sbyte[] { -1 }, 1).DType);
        Assert.Equal(DType.U8, Tensor.Wrap(new byte[] { 255 }, 1).DType);
        Assert.Equal(DType.I32, Tensor.Wrap(new[] { 1 }, 1).DType);
        Assert.Equal(DType.I64, Tensor.Wrap(new[] { 1L }, 1).DType);
        Assert.Equal(DType.Bool, Tensor.Wrap(new[] { true }, 1).DType);
        Assert.Equal(DType.F16, Tensor.Wrap(new[] { Half.One }, 1).DType);
        Assert.Equal(DType.BF16, Tensor.Wrap(new[] { BFloat16.FromSingle(1) }, 1).DType);
        Assert.Equal(DType.F32, Tensor.Wrap(new[] { 1f }, 1).DType);
        Assert.Throws<ArgumentException>(() => Tensor.Wrap(new uint[] { 1 }, 1));
        Assert.Throws<ArgumentException>(() => Tensor.Wrap(new double[] { 1 }, 1));
    }
}
