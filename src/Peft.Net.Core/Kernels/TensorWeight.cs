namespace Peft.Net.Core.Kernels;

/// <summary>Adapts a 2-D F32/F16/BF16 tensor [N, K] to <see cref="IPackableWeight"/>.</summary>
internal sealed class TensorWeight : IPackableWeight
{
    private readonly Tensor _tensor;

    public TensorWeight(Tensor tensor)
    {
        if (tensor.Rank != 2 || !tensor.DType.IsFloatingPoint())
            throw new ArgumentException($"A GEMM weight must be a 2-D floating tensor; got {tensor.Describe()}.", nameof(tensor));
        _tensor = tensor;
    }

    public int Rows => _tensor.Dim(0);

    public int Columns => _tensor.Dim(1);

    public void DecodeTile(int row0, int rowCount, int col0, int colCount, Span<float> destination, int destinationStride)
    {
        int k = Columns;
        for (int r = 0; r < rowCount; r++)
            _tensor.ReadAsFloat((row0 + r) * k + col0, destination.Slice(r * destinationStride, colCount));
    }
}
