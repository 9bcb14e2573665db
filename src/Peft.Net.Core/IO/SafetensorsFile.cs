using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Peft.Net.Core.IO;

/// <summary>
/// A safetensors file opened for reading through a read-only memory mapping: the header is parsed and fully
/// validated when the file is opened (see <see cref="SafetensorsFormatException"/>), and tensors are copied out
/// of the mapping on request, so opening a multi-gigabyte file costs only its header.
/// </summary>
/// <remarks>
/// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
/// (<c>{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}</c>), then the data
/// buffer; offsets are relative to the data buffer and must tile it exactly, as the reference implementation
/// requires. Data is little-endian. Reads may run concurrently; <see cref="Dispose"/> must not.
/// </remarks>
public sealed unsafe partial class SafetensorsFile : IDisposable
{
    /// <summary>Largest header accepted, in bytes (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private const int LengthPrefix = 8;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, SafetensorsEntry> _byName;
    private byte* _base;
    private bool _disposed;

    private SafetensorsFile(string filePath, long fileLength, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePointer)
    {
        FilePath = filePath;
        FileLength = fileLength;
        _map = map;
        _view = view;
        _base = basePointer;

        long headerLength = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(basePointer, LengthPrefix)) switch
        {
            > (ulong)MaxHeaderLength and var n => throw new SafetensorsFormatException(filePath, null,
                $"header length {n} exceeds the {MaxHeaderLength}-byte limit (corrupt file?)"),
            var n when (long)n > fileLength - LengthPrefix => throw new SafetensorsFormatException(filePath, null,
                $"header length {n} runs past the end of the {fileLength}-byte file (truncated file?)"),
            var n => (long)n,
        };
        HeaderLength = headerLength;
        DataOffset = LengthPrefix + headerLength;
        var header = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(basePointer + LengthPrefix, (int)headerLength),
            fileLength - DataOffset, filePath);
        Entries = header.Entries;
        Metadata = header.Metadata;
        _byName = Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="SafetensorsFormatException">The file is not a valid safetensors file.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Reading safetensors needs a little-endian machine.");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool pointerAcquired = false;
        try
        {
            long length = stream.Length;
            if (length < LengthPrefix)
                throw new SafetensorsFormatException(path, null,
                    $"file is {length} bytes long, shorter than the 8-byte header length prefix");
            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointerAcquired = true;
            return new SafetensorsFile(path, length, map, view, pointer + view.PointerOffset);
        }
        catch
        {
            if (pointerAcquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            map?.Dispose();
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The path the file was opened with.</summary>
    public string FilePath { get; }

    /// <summary>Size of the file in bytes.</summary>
    public long FileLength { get; }

    /// <summary>Length N of the JSON header in bytes (padding included).</summary>
    public long HeaderLength { get; }

    /// <summary>Position of the data buffer in the file (8 + N).</summary>
    public long DataOffset { get; }

    /// <summary>The tensor entries in the order of their data in the file.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map in header order; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>True when the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks up the entry of <paramref name="name"/>.</summary>
    public bool TryGetEntry(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafetensorsEntry entry) =>
        _byName.TryGetValue(name, out entry);

    /// <summary>The entry of <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    public SafetensorsEntry GetEntry(string name) =>
        _byName.TryGetValue(name, out var entry)
            ? entry
            : throw new KeyNotFoundException($"{FilePath}: no tensor named '{name}' ({Entries.Count} tensors in the file).");

    /// <summary>Reads tensor <paramref name="name"/> into a new tensor of its own dtype (a copy; the result outlives the file).</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="NotSupportedException">The dtype is not one Peft.Net loads, or the tensor has more elements than an array holds.</exception>
    /// <exception cref="SafetensorsFormatException">A BOOL tensor holds a byte other than 0 or 1.</exception>
    public Tensor ReadTensor(string name)
    {
        var entry = GetEntry(name);
        var tensor = Tensor.Empty(SupportedDType(entry), CheckedShape(entry));
        tensor.Name = name;
        byte* source = DataPointer(entry);
        fixed (byte* destination = &MemoryMarshal.GetArrayDataReference(tensor.Storage))
            Buffer.MemoryCopy(source, destination, entry.ByteLength, entry.ByteLength);
        if (tensor.DType == DType.Bool)
            CheckBooleans(entry, new ReadOnlySpan<byte>(source, tensor.Count));
        return tensor;
    }

    /// <summary>Reads tensor <paramref name="name"/> as a new F32 tensor, widening F16 and BF16 exactly.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is not F32, F16 or BF16, or is too large for an array.</exception>
    public Tensor ReadTensorAsFloat32(string name)
    {
        var entry = GetEntry(name);
        var dtype = SupportedDType(entry);
        if (dtype == DType.F32)
            return ReadTensor(name);
        if (!dtype.IsFloatingPoint())
            throw new NotSupportedException($"{FilePath}: tensor '{name}' is {entry.DTypeName}; only F32, F16 and BF16 tensors read as F32.");
        var tensor = Tensor.Zeros(CheckedShape(entry));
        tensor.Name = name;
        var destination = tensor.AsSpan();
        byte* source = DataPointer(entry);
        const int chunk = 1 << 20;
        for (int start = 0; start < destination.Length; start += chunk)
        {
            int length = Math.Min(chunk, destination.Length - start);
            var target = destination.Slice(start, length);
            if (dtype == DType.F16)
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)source + start, length), target);
            else
                WidenBFloat16(new ReadOnlySpan<ushort>((ushort*)source + start, length), target);
        }
        return tensor;
    }

    /// <summary>The raw little-endian bytes of tensor <paramref name="name"/> (works for every dtype, supported or not).</summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is larger than an array holds; use <see cref="CopyBytes"/> in chunks.</exception>
    public byte[] ReadBytes(string name)
    {
        var entry = GetEntry(name);
        if (entry.ByteLength > Array.MaxLength)
            throw new NotSupportedException($"{FilePath}: tensor '{name}' has {entry.ByteLength} bytes, more than an array holds; read it with CopyBytes in chunks.");
        var bytes = new byte[entry.ByteLength];
        CopyBytes(name, 0, bytes);
        return bytes;
    }

    /// <summary>
    /// Copies bytes [<paramref name="start"/>, <paramref name="start"/> + destination.Length) of tensor
    /// <paramref name="name"/>'s data into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor's data.</exception>
    public void CopyBytes(string name, long start, Span<byte> destination)
    {
        var entry = GetEntry(name);
        if (start < 0 || start > entry.ByteLength || destination.Length > entry.ByteLength - start)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"{FilePath}: bytes [{start}, {start + destination.Length}) are outside tensor '{name}' ({entry.ByteLength} bytes).");
        new ReadOnlySpan<byte>(DataPointer(entry) + start, destination.Length).CopyTo(destination);
    }

    /// <summary>Unmaps and closes the file. Tensors already read stay valid.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{FilePath} ({Entries.Count} tensors, {FileLength} bytes)";

    private byte* DataPointer(SafetensorsEntry entry)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _base + DataOffset + entry.DataBegin;
    }

    private DType SupportedDType(SafetensorsEntry entry) =>
        entry.IsSupported
            ? entry.DType
            : throw new NotSupportedException(
                $"{FilePath}: tensor '{entry.Name}' has dtype {entry.DTypeName}, which Peft.Net cannot load (supported: {SafetensorsDType.SupportedNames}).");

    private int[] CheckedShape(SafetensorsEntry entry) =>
        entry.ElementCount <= Array.MaxLength
            ? entry.ShapeArray()
            : throw new NotSupportedException(
                $"{FilePath}: tensor '{entry.Name}' has {entry.ElementCount} elements, more than a Tensor holds ({Array.MaxLength}).");

    private void CheckBooleans(SafetensorsEntry entry, ReadOnlySpan<byte> bytes)
    {
        int bad = bytes.IndexOfAnyExcept((byte)0, (byte)1);
        if (bad >= 0)
            throw new SafetensorsFormatException(FilePath, entry.Name, $"BOOL element {bad} is {bytes[bad]}, not 0 or 1");
    }

    // x is (N) bfloat16 bit patterns, y is (N) float32.
    private static void WidenBFloat16(ReadOnlySpan<ushort> x, Span<float> y)
    {
        for (int i = 0; i < x.Length; i++)
            y[i] = BitConverter.UInt32BitsToSingle((uint)x[i] << 16);
    }
}
