using System.Text;

namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// Writes a GGUF v3 file the way gguf-py does: header, metadata, tensor table, then the data of each tensor in table
/// order, each padded to the alignment (32). Tensors are given as float32 in PyTorch shape order and stored as F32,
/// F16, BF16 or Q8_0 (ggml's reference rounding). The file is written to a temporary file and renamed (atomic).
/// </summary>
public sealed class GgufWriter
{
    private readonly List<(string Key, GgufValue Value)> _metadata = [];
    private readonly List<(string Name, int[] Shape, GgmlType Type, Func<float[]> Values)> _tensors = [];

    /// <summary>Adds a metadata entry (keys must be unique and non-empty).</summary>
    /// <exception cref="ArgumentException">The key is empty or already added.</exception>
    public GgufWriter Add(string key, GgufValue value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        if (_metadata.Any(m => m.Key == key)) throw new ArgumentException($"GGUF key '{key}' is already set.", nameof(key));
        _metadata.Add((key, value));
        return this;
    }

    /// <summary>
    /// Adds a tensor: <paramref name="values"/> (called once, while writing) returns its float32 values, row-major in
    /// <paramref name="shape"/> (PyTorch order; the file stores ne = shape reversed).
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty, too long or repeated, or ne[0] is not a multiple of the type's block.</exception>
    public GgufWriter AddTensor(string name, int[] shape, GgmlType type, Func<float[]> values)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (Encoding.UTF8.GetByteCount(name) >= GgufFile.MaxTensorNameBytes)
            throw new ArgumentException($"GGUF tensor name '{name}' is {GgufFile.MaxTensorNameBytes} bytes or longer.", nameof(name));
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"GGUF tensor '{name}' is already added.", nameof(name));
        if (shape.Length is 0 or > 4 || shape.Any(d => d <= 0)) throw new ArgumentException($"GGUF tensor '{name}': shape [{string.Join(", ", shape)}] must have 1 to 4 positive dimensions.", nameof(shape));
        var (block, _) = GgmlTypeInfo.Layout(type) ?? throw new ArgumentException($"Unknown ggml type {type}.", nameof(type));
        if (shape[^1] % block != 0)
            throw new ArgumentException($"GGUF tensor '{name}': the innermost dimension {shape[^1]} is not a multiple of the {type} block size {block}.", nameof(shape));
        _tensors.Add((name, (int[])shape.Clone(), type, values));
        return this;
    }

    /// <summary>Writes the file atomically.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">A tensor's value delegate returned the wrong number of values.</exception>
    public void Write(string path) => AtomicFile.Write(path, WriteTo);

    private void WriteTo(Stream stream)
    {
        using var output = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        output.Write(GgufFile.Magic);
        output.Write(3u);
        output.Write((ulong)_tensors.Count);
        output.Write((ulong)_metadata.Count);
        foreach (var (key, value) in _metadata)
        {
            WriteString(output, key);
            WriteValue(output, value);
        }
        long offset = 0;
        foreach (var (name, shape, type, _) in _tensors)
        {
            WriteString(output, name);
            output.Write((uint)shape.Length);
            for (int i = shape.Length - 1; i >= 0; i--) output.Write((ulong)shape[i]);
            output.Write((uint)type);
            output.Write((ulong)offset);
            offset = GgufFile.Align(offset + GgmlQuantize.ByteLength(type, Count(shape)), GgufFile.DefaultAlignment);
        }
        output.Flush();
        Pad(output, stream.Position);
        foreach (var (name, shape, type, values) in _tensors)
        {
            float[] data = values();
            if (data.Length != Count(shape))
                throw new InvalidDataException($"GGUF tensor '{name}': {data.Length} values given for shape [{string.Join(", ", shape)}].");
            var bytes = new byte[GgmlQuantize.ByteLength(type, data.Length)];
            GgmlQuantize.Run(type, data, bytes);
            output.Write(bytes);
            Pad(output, stream.Position);
        }
        output.Flush();
    }

    private static long Count(int[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    private static void Pad(BinaryWriter output, long position)
    {
        long padding = GgufFile.Align(position, GgufFile.DefaultAlignment) - position;
        for (long i = 0; i < padding; i++) output.Write((byte)0);
    }

    private static void WriteString(BinaryWriter output, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        output.Write((ulong)bytes.Length);
        output.Write(bytes);
    }

    private static void WriteValue(BinaryWriter output, GgufValue value)
    {
        output.Write((uint)value.Type);
        if (value.Type != GgufValueType.Array)
        {
            WriteScalar(output, value.Type, value.Value);
            return;
        }
        var element = value.ElementType ?? throw new ArgumentException("A GGUF array value needs an element type.");
        var array = (Array)value.Value;
        output.Write((uint)element);
        output.Write((ulong)array.Length);
        foreach (var item in array) WriteScalar(output, element, item!);
    }

    private static void WriteScalar(BinaryWriter output, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: output.Write(Convert.ToByte(value)); break;
            case GgufValueType.Int8: output.Write(Convert.ToSByte(value)); break;
            case GgufValueType.UInt16: output.Write(Convert.ToUInt16(value)); break;
            case GgufValueType.Int16: output.Write(Convert.ToInt16(value)); break;
            case GgufValueType.UInt32: output.Write(Convert.ToUInt32(value)); break;
            case GgufValueType.Int32: output.Write(Convert.ToInt32(value)); break;
            case GgufValueType.Float32: output.Write(Convert.ToSingle(value)); break;
            case GgufValueType.Bool: output.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(output, (string)value); break;
            case GgufValueType.UInt64: output.Write(Convert.ToUInt64(value)); break;
            case GgufValueType.Int64: output.Write(Convert.ToInt64(value)); break;
            case GgufValueType.Float64: output.Write(Convert.ToDouble(value)); break;
            default: throw new ArgumentException($"GGUF value type {type} is not a scalar.");
        }
    }
}
