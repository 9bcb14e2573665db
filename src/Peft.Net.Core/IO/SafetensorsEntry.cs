namespace Peft.Net.Core.IO;

/// <summary>
/// One tensor entry of a safetensors header: name, dtype, shape and the byte range of its data. Offsets are
/// relative to the start of the data buffer (the byte after the header), as in the file.
/// </summary>
public sealed class SafetensorsEntry
{
    private readonly int[] _shape;
    private readonly DType? _dtype;

    internal SafetensorsEntry(string name, SafetensorsDType dtype, int[] shape, long elementCount, long begin, long end)
    {
        Name = name;
        DTypeName = dtype.Name;
        _dtype = dtype.DType;
        _shape = shape;
        ElementCount = elementCount;
        DataBegin = begin;
        DataEnd = end;
    }

    /// <summary>The tensor's name (its key in the header).</summary>
    public string Name { get; }

    /// <summary>The dtype exactly as the header spells it ("F32", "BF16", "BOOL", "F64", …).</summary>
    public string DTypeName { get; }

    /// <summary>True when Peft.Net can load the dtype into a <see cref="Tensor"/> (F32, F16, BF16, U8, I8, I32, I64, BOOL).</summary>
    public bool IsSupported => _dtype is not null;

    /// <summary>The dtype the tensor loads as.</summary>
    /// <exception cref="NotSupportedException">The dtype is valid safetensors but not one Peft.Net loads (see <see cref="IsSupported"/>).</exception>
    public DType DType => _dtype ?? throw new NotSupportedException(
        $"Tensor '{Name}' has dtype {DTypeName}, which Peft.Net cannot load (supported: {SafetensorsDType.SupportedNames}).");

    /// <summary>The shape; a scalar has rank 0.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>First byte of the tensor's data, relative to the data buffer.</summary>
    public long DataBegin { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the data buffer.</summary>
    public long DataEnd { get; }

    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteLength => DataEnd - DataBegin;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DTypeName} [{string.Join(", ", _shape)}] bytes [{DataBegin}, {DataEnd})";
}
