using System.Buffers.Binary;
using System.Text;

namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// Bounded little-endian reads of a GGUF header: every read checks the bytes left in the file first, so a hostile
/// length or count gives a <see cref="GgufFormatException"/> instead of a huge allocation or an end-of-stream error.
/// </summary>
internal sealed class GgufHeaderReader
{
    /// <summary>ggml's GGUF_MAX_STRING_LENGTH-like bound (1 GiB).</summary>
    public const long MaxStringLength = 1L << 30;

    /// <summary>ggml's bound on array lengths (2^30 elements).</summary>
    public const long MaxArrayLength = 1L << 30;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly Stream _stream;
    private readonly string _path;
    private readonly byte[] _scratch = new byte[8];

    public GgufHeaderReader(Stream stream, string path, long length)
    {
        _stream = stream;
        _path = path;
        Length = length;
    }

    public long Length { get; }

    public long Position { get; private set; }

    public long Remaining => Length - Position;

    public GgufFormatException Error(string? item, string problem) => new(_path, item, problem);

    private ReadOnlySpan<byte> Take(int count, string? item, string what)
    {
        if (Remaining < count)
            throw Error(item, $"truncated: {what} needs {count} bytes at offset {Position}, the file has {Remaining} left");
        _stream.ReadExactly(_scratch, 0, count);
        Position += count;
        return _scratch.AsSpan(0, count);
    }

    public byte ReadByte(string? item, string what) => Take(1, item, what)[0];

    public ushort ReadUInt16(string? item, string what) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, item, what));

    public uint ReadUInt32(string? item, string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, item, what));

    public ulong ReadUInt64(string? item, string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, item, what));

    /// <summary>A u64 count that must fit in a non-negative int64 and not exceed <paramref name="max"/>.</summary>
    public long ReadCount(string? item, string what, long max)
    {
        ulong value = ReadUInt64(item, what);
        if (value > (ulong)max)
            throw Error(item, $"{what} is {value}, more than the file can hold (at most {max})");
        return (long)value;
    }

    /// <summary>A GGUF string: u64 length, then that many bytes of valid UTF-8.</summary>
    public string ReadString(string? item, string what)
    {
        long length = ReadUInt64Checked(item, what + " length");
        if (length > MaxStringLength)
            throw Error(item, $"{what} is {length} bytes long, over the 1 GiB limit");
        if (length > Remaining)
            throw Error(item, $"truncated: {what} claims {length} bytes at offset {Position}, the file has {Remaining} left");
        var bytes = new byte[length];
        _stream.ReadExactly(bytes);
        Position += length;
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new GgufFormatException(_path, item, $"{what} is not valid UTF-8", e);
        }
    }

    private long ReadUInt64Checked(string? item, string what)
    {
        ulong value = ReadUInt64(item, what);
        return value > long.MaxValue ? throw Error(item, $"{what} {value} does not fit in a signed 64-bit integer") : (long)value;
    }

    public void Skip(long count)
    {
        if (count > Remaining) throw Error(null, $"truncated: padding of {count} bytes at offset {Position} runs past the end of the file");
        _stream.Seek(count, SeekOrigin.Current);
        Position += count;
    }
}
