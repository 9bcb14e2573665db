using System.Runtime.InteropServices;

namespace Peft.Net.Optim;

/// <summary>Bytes of one optimizer state buffer: a managed array, or a region of a <see cref="PagedStateFile"/>.</summary>
internal readonly unsafe struct StateRegion
{
    private readonly byte[]? _array;
    private readonly byte* _pointer;

    private StateRegion(byte[]? array, byte* pointer, int length)
    {
        _array = array;
        _pointer = pointer;
        Length = length;
    }

    /// <summary>Length in bytes.</summary>
    public int Length { get; }

    /// <summary>Whether the bytes live in the paged file.</summary>
    public bool IsPaged => _pointer != null;

    /// <summary>A zeroed region of <paramref name="bytes"/> bytes: in <paramref name="file"/> when given, else on the managed heap.</summary>
    public static StateRegion Allocate(int bytes, PagedStateFile? file) =>
        file is null ? new StateRegion(new byte[bytes], null, bytes) : new StateRegion(null, file.Allocate(bytes), bytes);

    /// <summary>The bytes.</summary>
    public Span<byte> Bytes => _array is not null ? _array : new Span<byte>(_pointer, Length);

    /// <summary>The bytes as floats (Length / 4 of them).</summary>
    public Span<float> Floats => MemoryMarshal.Cast<byte, float>(Bytes);
}
