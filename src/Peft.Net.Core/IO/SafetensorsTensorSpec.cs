namespace Peft.Net.Core.IO;

/// <summary>A tensor declared to a <see cref="SafetensorsWriter"/> before its data is written: name, dtype and shape.</summary>
/// <param name="Name">Key of the tensor in the file.</param>
/// <param name="DType">Element type.</param>
/// <param name="Shape">Shape; empty for a scalar.</param>
public sealed record SafetensorsTensorSpec(string Name, DType DType, int[] Shape)
{
    /// <summary>The spec that stores <paramref name="tensor"/> under <paramref name="name"/>.</summary>
    public static SafetensorsTensorSpec Of(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new SafetensorsTensorSpec(name, tensor.DType, tensor.ShapeArray());
    }

    /// <summary>Number of elements (product of the shape).</summary>
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);

    /// <summary>Size of the tensor's data in bytes.</summary>
    public long ByteLength => ElementCount * DType.SizeOf();
}
