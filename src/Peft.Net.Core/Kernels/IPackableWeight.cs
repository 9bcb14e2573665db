namespace Peft.Net.Core.Kernels;

/// <summary>
/// A frozen weight matrix W [<see cref="Rows"/> = N, <see cref="Columns"/> = K] (logically row-major) that the
/// GEMM reads tile by tile while packing, instead of through a float32 array. F16/BF16 tensors and 4-bit
/// quantized weights implement it so that no full float32 copy of the weight ever exists.
/// </summary>
public interface IPackableWeight
{
    /// <summary>N: number of rows (output features of a linear layer).</summary>
    int Rows { get; }

    /// <summary>K: number of columns (input features of a linear layer).</summary>
    int Columns { get; }

    /// <summary>
    /// Decodes W[row0 .. row0 + rowCount, col0 .. col0 + colCount) to float32:
    /// <c>destination[r * destinationStride + c] = W[row0 + r, col0 + c]</c>.
    /// Called concurrently from several threads for disjoint tiles; implementations must be thread-safe.
    /// </summary>
    void DecodeTile(int row0, int rowCount, int col0, int colCount, Span<float> destination, int destinationStride);
}
