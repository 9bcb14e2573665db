using Peft.Net.Core;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Quantization;

/// <summary>
/// A tensor stored in bitsandbytes' 4-bit blockwise format (NF4 or FP4, optionally double-quantized): packed
/// nibbles, per-block scales and everything needed to decode them. Byte-compatible with bitsandbytes'
/// <c>quantize_4bit</c> on CUDA (the project's format reference, <c>nf4-format.md</c>).
/// </summary>
/// <remarks>
/// The arrays are shared, not copied: treat them as read-only. Instances are immutable and safe to decode from
/// several threads at once. As an <see cref="IPackableWeight"/> the tensor is a matrix [Shape[0], n / Shape[0]]
/// (a linear layer's weight [out, in]) that the GEMM decodes tile by tile.
/// </remarks>
public sealed partial class QuantizedTensor : IPackableWeight
{
    private readonly int[] _shape;

    private QuantizedTensor(QuantType quantType, int blockSize, int[] shape, DType originalDType, long elementCount,
        byte[] packed, float[]? absmax, byte[]? quantizedAbsmax, float[]? nestedAbsmax, float[]? nestedQuantMap,
        float offset, float[] quantMap)
    {
        QuantType = quantType;
        BlockSize = blockSize;
        _shape = shape;
        OriginalDType = originalDType;
        ElementCount = elementCount;
        Packed = packed;
        Absmax = absmax;
        QuantizedAbsmax = quantizedAbsmax;
        NestedAbsmax = nestedAbsmax;
        NestedQuantMap = nestedQuantMap;
        Offset = offset;
        QuantMap = quantMap;
        Scales = new BlockScales(this);
    }

    /// <summary>The 4-bit code book.</summary>
    public QuantType QuantType { get; }

    /// <summary>B: consecutive flat elements sharing one absmax (32, 64, …, 4096).</summary>
    public int BlockSize { get; }

    /// <summary>A copy of the original tensor's shape.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>The dtype of the tensor that was quantized (F32, F16 or BF16); <see cref="Dequantize"/>'s natural output.</summary>
    public DType OriginalDType { get; }

    /// <summary>n: number of elements (product of <see cref="Shape"/>).</summary>
    public long ElementCount { get; }

    /// <summary>Number of blocks, nb = ceil(n / B).</summary>
    public int BlockCount => (int)((ElementCount + BlockSize - 1) / BlockSize);

    /// <summary>ceil(n/2) bytes: byte k holds the code of flat element 2k in its high nibble and 2k + 1 in its low nibble.</summary>
    public byte[] Packed { get; }

    /// <summary>The float32 absmax of each block [nb], or null when double-quantized.</summary>
    public float[]? Absmax { get; }

    /// <summary>True when the absmax are stored as 8-bit codes (<see cref="QuantizedAbsmax"/>) with nested state.</summary>
    public bool IsDoubleQuantized => QuantizedAbsmax is not null;

    /// <summary>[nb] 8-bit codes of (absmax − <see cref="Offset"/>) on <see cref="NestedQuantMap"/>, or null.</summary>
    public byte[]? QuantizedAbsmax { get; }

    /// <summary>[ceil(nb / 256)] float32 absmax of each group of 256 centred absmax, or null.</summary>
    public float[]? NestedAbsmax { get; }

    /// <summary>[256] the sorted signed dynamic map the absmax codes index, or null.</summary>
    public float[]? NestedQuantMap { get; }

    /// <summary>The mean of the absmax subtracted before nested quantization (0 when not double-quantized).</summary>
    public float Offset { get; }

    /// <summary>Blocksize of the nested quantization: 256.</summary>
    public int NestedBlockSize => DoubleQuantReference.NestedBlockSize;

    /// <summary>[16] the value of each 4-bit code (NF4 ascending, FP4 in bit-pattern order).</summary>
    public float[] QuantMap { get; }

    /// <summary>
    /// Bytes held by the arrays (packed codes, absmax or their codes, nested absmax, both maps); the fixed JSON
    /// metadata of a file is not counted.
    /// </summary>
    public long StorageBytes =>
        Packed.LongLength + 4L * QuantMap.Length + (Absmax is null ? 0 : 4L * Absmax.Length) +
        (QuantizedAbsmax?.LongLength ?? 0) + 4L * (NestedAbsmax?.Length ?? 0) + 4L * (NestedQuantMap?.Length ?? 0);

    /// <summary>Storage bits per element: 8 · <see cref="StorageBytes"/> / n.</summary>
    public double BitsPerParameter => ElementCount == 0 ? 0 : 8.0 * StorageBytes / ElementCount;

    internal BlockScales Scales { get; }

    /// <summary>N when seen as a weight matrix: Shape[0] (1 for a scalar).</summary>
    public int Rows => _shape.Length == 0 ? 1 : _shape[0];

    /// <summary>K when seen as a weight matrix: n / Shape[0].</summary>
    public int Columns => Rows == 0 ? 0 : checked((int)(ElementCount / Rows));

    /// <summary>
    /// The per-block absmax as float32 [nb]: a copy of <see cref="Absmax"/>, or when double-quantized
    /// fl32(fl32(NestedQuantMap[q] · NestedAbsmax[j / 256]) + Offset) in that order (bitsandbytes' arithmetic).
    /// </summary>
    public float[] GetAbsmax()
    {
        var result = new float[BlockCount];
        for (int j = 0; j < result.Length; j++) result[j] = Scales[j];
        return result;
    }

    /// <summary>
    /// Decodes to a new tensor of <see cref="Shape"/>: out[i] = fl32(QuantMap[code_i] · absmax[i / B]), converted to
    /// <paramref name="dtype"/> by round-to-nearest-even.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not F32, F16 or BF16.</exception>
    /// <exception cref="InvalidOperationException">The tensor has more elements than a <see cref="Tensor"/> can hold.</exception>
    public Tensor Dequantize(DType dtype = DType.F32)
    {
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"A quantized tensor dequantizes to F32, F16 or BF16, not {dtype}.", nameof(dtype));
        if (ElementCount > Array.MaxLength)
            throw new InvalidOperationException($"{Describe()} has {ElementCount} elements, more than one tensor can hold; decode it in tiles.");
        var result = Tensor.Zeros(_shape);
        DequantizeInto(result.AsSpan());
        return dtype == DType.F32 ? result : result.To(dtype);
    }

    /// <summary>Decodes every element as float32 into <paramref name="destination"/> (vectorised, multi-threaded for large tensors).</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not have exactly n elements.</exception>
    public void DequantizeInto(Span<float> destination)
    {
        if (destination.Length != ElementCount)
            throw new ArgumentException($"Destination has {destination.Length} elements; {Describe()} needs {ElementCount}.", nameof(destination));
        FourBitDequantizeKernel.DecodeParallel(this, destination);
    }

    /// <summary>Decodes flat elements [<paramref name="start"/>, <paramref name="start"/> + destination.Length) as float32.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    public void DequantizeRange(long start, Span<float> destination)
    {
        if (start < 0 || start + destination.Length > ElementCount)
            throw new ArgumentOutOfRangeException(nameof(start), $"Elements [{start}, {start + destination.Length}) are outside {Describe()}.");
        FourBitDequantizeKernel.Decode(this, start, destination);
    }

    /// <inheritdoc/>
    public void DecodeTile(int row0, int rowCount, int col0, int colCount, Span<float> destination, int destinationStride)
    {
        int k = Columns;
        if (row0 < 0 || rowCount < 0 || row0 + rowCount > Rows || col0 < 0 || colCount < 0 || col0 + colCount > k)
            throw new ArgumentOutOfRangeException(nameof(row0),
                $"Tile rows [{row0}, {row0 + rowCount}) × columns [{col0}, {col0 + colCount}) is outside {Describe()} seen as [{Rows}, {k}].");
        for (int r = 0; r < rowCount; r++)
            FourBitDequantizeKernel.Decode(this, (long)(row0 + r) * k + col0, destination.Slice(r * destinationStride, colCount));
    }

    /// <summary>A short description such as <c>"NF4 [4096, 4096] B=64 double-quantized (from BF16)"</c>.</summary>
    public string Describe() =>
        $"{QuantType.ToString().ToUpperInvariant()} [{string.Join(", ", _shape)}] B={BlockSize}{(IsDoubleQuantized ? " double-quantized" : "")} (from {OriginalDType})";

    /// <inheritdoc/>
    public override string ToString() => Describe();
}
