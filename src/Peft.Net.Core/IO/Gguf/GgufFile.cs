using System.Text;

namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// A GGUF file (v2 or v3, little-endian) opened for reading: its metadata and tensor table are read and validated
/// at once, as strictly as llama.cpp's reader (magic, version, value types, string and array lengths against the
/// file size, unique non-empty keys, a power-of-two <c>general.alignment</c>, unique tensor names under 64 bytes,
/// 1–4 dimensions, known types with ne[0] a multiple of the block, offsets aligned and in sequence, data inside the
/// file); tensor data are read on demand. Instances hold the file open until disposed.
/// </summary>
public sealed class GgufFile : IDisposable
{
    /// <summary>The magic "GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>The alignment when <c>general.alignment</c> is absent.</summary>
    public const int DefaultAlignment = 32;

    /// <summary>ggml's GGML_MAX_NAME: tensor names must be shorter (the NUL takes the last byte).</summary>
    public const int MaxTensorNameBytes = 64;

    private readonly FileStream _stream;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(string path, FileStream stream, uint version, OrderedDictionary<string, GgufValue> metadata,
        List<GgufTensorInfo> tensors, long dataOffset, int alignment)
    {
        FilePath = path;
        _stream = stream;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        DataOffset = dataOffset;
        Alignment = alignment;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path.</summary>
    public string FilePath { get; }

    /// <summary>The format version (2 or 3).</summary>
    public uint Version { get; }

    /// <summary>The metadata in file order.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Absolute offset of the data section.</summary>
    public long DataOffset { get; }

    /// <summary>The data alignment (<c>general.alignment</c> or 32).</summary>
    public int Alignment { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file; the message says where and why.</exception>
    public static GgufFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: the GGUF file does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        try
        {
            return Read(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static GgufFile Read(string path, FileStream stream)
    {
        var reader = new GgufHeaderReader(stream, path, stream.Length);
        if (reader.Length < 4 || reader.ReadUInt32(null, "magic") != Magic)
            throw reader.Error(null, "not a GGUF file (the first 4 bytes are not \"GGUF\")");
        uint version = reader.ReadUInt32(null, "version");
        if ((version & 0xFFFF) == 0)
            throw reader.Error(null, $"version field {version:X8} looks byte-swapped: big-endian GGUF files are not supported");
        if (version is 0 or 1)
            throw reader.Error(null, $"GGUF version {version} is obsolete; only versions 2 and 3 are supported");
        if (version > 3)
            throw reader.Error(null, $"GGUF version {version} is newer than this reader (2 and 3 are supported)");
        // A tensor info takes at least 8 + 4 + 8 + 4 + 8 bytes, a key/value at least 8 + 4 + 1.
        long tensorCount = reader.ReadCount(null, "tensor count", reader.Remaining / 32);
        long kvCount = reader.ReadCount(null, "metadata count", reader.Remaining / 13);

        var metadata = new OrderedDictionary<string, GgufValue>(StringComparer.Ordinal);
        for (long i = 0; i < kvCount; i++)
        {
            string key = reader.ReadString($"metadata entry {i}", "key");
            if (key.Length == 0) throw reader.Error($"metadata entry {i}", "the key is empty");
            var value = GgufMetadataReader.ReadValue(reader, key);
            if (!metadata.TryAdd(key, value)) throw reader.Error($"key '{key}'", "appears twice");
        }
        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out var alignValue))
        {
            if (alignValue.Value is not uint align)
                throw reader.Error("key 'general.alignment'", $"must be a u32, not {alignValue.Type}");
            if (align == 0 || (align & (align - 1)) != 0 || align > 1 << 20)
                throw reader.Error("key 'general.alignment'", $"is {align}; it must be a power of two (at most 2^20)");
            alignment = (int)align;
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var rawOffsets = new long[tensorCount];
        for (long i = 0; i < tensorCount; i++)
        {
            string name = reader.ReadString($"tensor {i}", "tensor name");
            string item = $"tensor '{name}'";
            if (name.Length == 0) throw reader.Error($"tensor {i}", "the name is empty");
            if (Encoding.UTF8.GetByteCount(name) >= MaxTensorNameBytes)
                throw reader.Error(item, $"the name is {Encoding.UTF8.GetByteCount(name)} bytes; ggml allows at most {MaxTensorNameBytes - 1}");
            if (!names.Add(name)) throw reader.Error(item, "appears twice");
            uint dims = reader.ReadUInt32(item, "dimension count");
            if (dims is 0 or > 4) throw reader.Error(item, $"has {dims} dimensions; ggml tensors have 1 to 4");
            var ne = new long[dims];
            long elements = 1;
            for (int d = 0; d < dims; d++)
            {
                ulong n = reader.ReadUInt64(item, "dimension");
                if (n > int.MaxValue) throw reader.Error(item, $"dimension {d} is {n}, too large");
                ne[d] = (long)n;
                elements = n == 0 ? 0 : elements > long.MaxValue / (long)n ? throw reader.Error(item, "the element count overflows") : elements * (long)n;
            }
            uint rawType = reader.ReadUInt32(item, "type");
            var type = (GgmlType)rawType;
            if (GgmlTypeInfo.Layout(type) is not var (block, typeSize))
                throw reader.Error(item, $"unknown or unsupported ggml type {rawType}");
            if (ne[0] % block != 0)
                throw reader.Error(item, $"ne[0] = {ne[0]} is not a multiple of the {type} block size {block}");
            long bytes = elements / block * typeSize;
            rawOffsets[i] = (long)Math.Min(reader.ReadUInt64(item, "data offset"), long.MaxValue);
            tensors.Add(new GgufTensorInfo(name, ne, type, rawOffsets[i], bytes));
        }
        long dataOffset = tensorCount > 0 ? Align(reader.Position, alignment) : reader.Position;
        long expected = 0;
        foreach (var tensor in tensors)
        {
            string item = $"tensor '{tensor.Name}'";
            if (tensor.Offset != expected)
                throw reader.Error(item, $"has offset {tensor.Offset}, expected {expected} (tensor data must follow each other in table order, each padded to {alignment} bytes)");
            if (tensor.ByteLength > reader.Length - dataOffset - tensor.Offset)
                throw reader.Error(item, $"data ({tensor.ByteLength} bytes at {dataOffset + tensor.Offset}) run past the end of the file ({reader.Length} bytes)");
            expected = Align(tensor.Offset + tensor.ByteLength, alignment);
        }
        return new GgufFile(path, stream, version, metadata, tensors, dataOffset, alignment);
    }

    internal static long Align(long offset, int alignment) => (offset + alignment - 1) / alignment * alignment;

    /// <summary>Whether the file has a tensor called <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The tensor called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public GgufTensorInfo Tensor(string name) =>
        _byName.TryGetValue(name, out var info) ? info : throw new KeyNotFoundException($"{FilePath}: no tensor '{name}'.");

    /// <summary>The raw bytes of a tensor.</summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    public byte[] ReadBytes(string name)
    {
        var info = Tensor(name);
        if (info.ByteLength > Array.MaxLength)
            throw new GgufFormatException(FilePath, $"tensor '{name}'", $"{info.ByteLength} bytes are too many for one array");
        var bytes = new byte[info.ByteLength];
        RandomAccess.Read(_stream.SafeFileHandle, bytes, DataOffset + info.Offset);
        return bytes;
    }

    /// <summary>
    /// A tensor's values as float32 in ggml order (ne[0] fastest, i.e. row-major in the PyTorch shape), dequantized as
    /// llama.cpp does (<see cref="GgmlTypeInfo.CanDequantize"/> lists the types).
    /// </summary>
    /// <exception cref="KeyNotFoundException">No such tensor.</exception>
    /// <exception cref="GgufFormatException">The type cannot be dequantized, or the values are not finite.</exception>
    public float[] ReadFloat32(string name)
    {
        var info = Tensor(name);
        if (!GgmlTypeInfo.CanDequantize(info.Type))
            throw new GgufFormatException(FilePath, $"tensor '{name}'",
                $"type {info.Type} is not supported; Peft.Net reads F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K");
        if (info.ElementCount > Array.MaxLength)
            throw new GgufFormatException(FilePath, $"tensor '{name}'", $"{info.ElementCount} elements are too many for one array");
        var values = new float[info.ElementCount];
        GgmlDequantize.Run(info.Type, ReadBytes(name), values);
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new GgufFormatException(FilePath, $"tensor '{name}'", $"element {i} is {values[i]}; weights must be finite");
        return values;
    }

    /// <summary>The metadata value of <paramref name="key"/>, or null.</summary>
    public GgufValue? Get(string key) => Metadata.TryGetValue(key, out var value) ? value : null;

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
