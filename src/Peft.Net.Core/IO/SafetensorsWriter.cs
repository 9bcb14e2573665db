using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Peft.Net.Core.IO;

/// <summary>
/// Writes a safetensors file one tensor at a time, so a model larger than memory can be saved: the tensors are
/// declared up front (the header needs every offset), the header is written at once, then each tensor's data
/// follows in declaration order through <see cref="Write"/> or, in chunks, <see cref="WriteBytes"/>.
/// </summary>
/// <remarks>
/// Output goes to a temporary file <c>&lt;path&gt;.tmp-&lt;random&gt;</c> in the target's folder, which
/// <see cref="Commit"/> flushes to disk and renames over <see cref="Path"/> atomically: readers see the old file
/// or the complete new one, never a half-written file. <see cref="Dispose"/> commits when every declared byte was
/// written and nothing failed; otherwise (an exception left the data incomplete) it deletes the temporary file
/// and leaves any existing target untouched. The header is byte-identical to the reference implementation's for
/// the same tensors in the same order.
/// </remarks>
public sealed class SafetensorsWriter : IDisposable
{
    private readonly SafetensorsTensorSpec[] _tensors;
    private FileStream? _stream;
    private int _current;
    private long _writtenInCurrent;
    private bool _failed;
    private bool _committed;

    /// <summary>Declares the tensors and writes the header to a temporary file beside <paramref name="path"/>.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Every tensor in the order its data will be written.</param>
    /// <param name="metadata">The <c>__metadata__</c> map, written in enumeration order; omitted when null or empty.</param>
    /// <exception cref="ArgumentException">Duplicate or reserved names, negative dimensions, or invalid Unicode.</exception>
    /// <exception cref="DirectoryNotFoundException">The target's folder does not exist.</exception>
    public SafetensorsWriter(string path, IEnumerable<SafetensorsTensorSpec> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(tensors);
        Path = System.IO.Path.GetFullPath(path);
        _tensors = tensors.ToArray();
        Validate(_tensors);
        for (int i = 0; i < _tensors.Length; i++)
            _tensors[i] = _tensors[i] with { Shape = (int[])_tensors[i].Shape.Clone() };
        byte[] header = SafetensorsHeaderWriter.Serialize(_tensors, metadata);

        TemporaryPath = AtomicFile.TemporaryPathFor(Path);
        _stream = new FileStream(TemporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20);
        try
        {
            Span<byte> prefix = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            _stream.Write(prefix);
            _stream.Write(header);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    /// <summary>The full path of the file being written.</summary>
    public string Path { get; }

    /// <summary>The temporary file that receives the data until <see cref="Commit"/>.</summary>
    public string TemporaryPath { get; }

    /// <summary>Number of tensors whose data is complete.</summary>
    public int TensorsWritten => _current;

    /// <summary>True once every declared byte has been written.</summary>
    public bool IsComplete => _current == _tensors.Length;

    /// <summary>Writes the data of the next declared tensor, whose dtype and shape <paramref name="tensor"/> must match.</summary>
    /// <exception cref="ArgumentException">The dtype or shape differs from the declaration.</exception>
    /// <exception cref="InvalidOperationException">All tensors were written, part of this tensor was written with <see cref="WriteBytes"/>, or the writer is closed.</exception>
    public void Write(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var spec = NextSpec();
        if (_writtenInCurrent != 0)
            throw new InvalidOperationException($"{Path}: tensor '{spec.Name}' was partly written with WriteBytes; finish it with WriteBytes.");
        if (tensor.DType != spec.DType || !tensor.Shape.SequenceEqual(spec.Shape))
            throw new ArgumentException(
                $"{Path}: tensor '{spec.Name}' was declared {spec.DType} [{string.Join(", ", spec.Shape)}] but {tensor.Describe()} was written.", nameof(tensor));
        ref byte start = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(tensor.Storage), (nint)tensor.Offset * spec.DType.SizeOf());
        if (spec.ByteLength == 0)
            WriteBytes([]);
        const int chunk = 1 << 30;
        for (long done = 0; done < spec.ByteLength; done += chunk)
            WriteBytes(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref start, (nint)done), (int)Math.Min(chunk, spec.ByteLength - done)));
    }

    /// <summary>
    /// Appends raw little-endian bytes to the current tensor's data; a tensor may be written in several calls and
    /// the writer moves to the next tensor when this one is complete (an empty tensor is completed by an empty span).
    /// </summary>
    /// <exception cref="ArgumentException">More bytes than the current tensor has left.</exception>
    /// <exception cref="InvalidOperationException">All tensors were written, or the writer is closed.</exception>
    public void WriteBytes(ReadOnlySpan<byte> data)
    {
        var spec = NextSpec();
        long left = spec.ByteLength - _writtenInCurrent;
        if (data.Length > left)
            throw new ArgumentException($"{Path}: tensor '{spec.Name}' has {left} of {spec.ByteLength} bytes left; {data.Length} bytes were given.", nameof(data));
        try
        {
            _stream!.Write(data);
        }
        catch
        {
            _failed = true;
            throw;
        }
        _writtenInCurrent += data.Length;
        if (_writtenInCurrent == spec.ByteLength)
        {
            _current++;
            _writtenInCurrent = 0;
        }
    }

    /// <summary>Flushes the data to disk and atomically renames the temporary file over the target.</summary>
    /// <exception cref="InvalidOperationException">Some declared tensor was not written, or an earlier write failed.</exception>
    public void Commit()
    {
        if (_committed)
            return;
        if (_stream is null || _failed)
            throw new InvalidOperationException($"{Path}: the writer failed or was disposed; nothing was written.");
        if (!IsComplete)
            throw new InvalidOperationException(
                $"{Path}: only {_current} of {_tensors.Length} tensors were written (next: '{_tensors[_current].Name}').");
        try
        {
            _stream.Flush(flushToDisk: true);
            _stream.Dispose();
            _stream = null;
            AtomicFile.Commit(TemporaryPath, Path);
            _committed = true;
        }
        catch
        {
            Discard();
            throw;
        }
    }

    /// <summary>Commits when every tensor was written and no write failed; otherwise deletes the temporary file.</summary>
    public void Dispose()
    {
        if (_committed || _stream is null)
            return;
        if (IsComplete && !_failed)
            Commit();
        else
            Discard();
    }

    private SafetensorsTensorSpec NextSpec()
    {
        if (_stream is null)
            throw new InvalidOperationException($"{Path}: the writer is closed.");
        if (_current == _tensors.Length)
            throw new InvalidOperationException($"{Path}: all {_tensors.Length} declared tensors were already written.");
        return _tensors[_current];
    }

    private void Discard()
    {
        _failed = true;
        _stream?.Dispose();
        _stream = null;
        AtomicFile.TryDelete(TemporaryPath);
    }

    private static void Validate(SafetensorsTensorSpec[] tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            ArgumentNullException.ThrowIfNull(t.Name, nameof(tensors));
            if (t.Name == "__metadata__")
                throw new ArgumentException("'__metadata__' is reserved for the metadata map and cannot name a tensor.", nameof(tensors));
            if (!names.Add(t.Name))
                throw new ArgumentException($"Tensor '{t.Name}' is declared twice.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(t.Shape, nameof(tensors));
            if (t.Shape.Any(d => d < 0))
                throw new ArgumentException($"Tensor '{t.Name}' has a negative dimension in shape [{string.Join(", ", t.Shape)}].", nameof(tensors));
            try
            {
                total = checked(total + t.Shape.Aggregate(1L, (n, d) => checked(n * d)) * t.DType.SizeOf());
            }
            catch (OverflowException)
            {
                throw new ArgumentException($"Tensor '{t.Name}' of shape [{string.Join(", ", t.Shape)}] makes the file larger than {long.MaxValue} bytes.", nameof(tensors));
            }
        }
    }
}
