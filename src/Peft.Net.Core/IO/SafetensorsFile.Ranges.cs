using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Peft.Net.Core.IO;

public sealed unsafe partial class SafetensorsFile
{
    /// <summary>
    /// Widens elements [<paramref name="start"/>, <paramref name="start"/> + destination.Length) of floating tensor
    /// <paramref name="name"/> (F32, F16 or BF16, flattened row-major) into <paramref name="destination"/>, exactly as
    /// <see cref="ReadTensorAsFloat32"/> would. Lets a caller stream a large tensor through a small buffer.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    /// <exception cref="NotSupportedException">The tensor is not F32, F16 or BF16.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the tensor.</exception>
    public void ReadAsFloat32(string name, long start, Span<float> destination)
    {
        var entry = GetEntry(name);
        var dtype = SupportedDType(entry);
        if (!dtype.IsFloatingPoint())
            throw new NotSupportedException($"{FilePath}: tensor '{name}' is {entry.DTypeName}; only F32, F16 and BF16 tensors read as F32.");
        if (start < 0 || start > entry.ElementCount || destination.Length > entry.ElementCount - start)
            throw new ArgumentOutOfRangeException(nameof(start),
                $"{FilePath}: elements [{start}, {start + destination.Length}) are outside tensor '{name}' ({entry.ElementCount} elements).");
        byte* source = DataPointer(entry);
        int length = destination.Length;
        if (dtype == DType.F32)
            new ReadOnlySpan<float>((float*)source + start, length).CopyTo(destination);
        else if (dtype == DType.F16)
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)source + start, length), destination);
        else
            WidenBFloat16(new ReadOnlySpan<ushort>((ushort*)source + start, length), destination);
    }

    /// <summary>
    /// Tells the operating system that this process is done with tensor <paramref name="name"/>'s pages of the
    /// mapping: on Linux they leave the process's resident set (the data stays in the file cache and is read again if
    /// touched). Loading a checkpoint tensor by tensor with this keeps the peak resident memory near the size of what
    /// was built from it, not the size of the file. Elsewhere a no-op.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The file has no such tensor.</exception>
    public void ReleasePages(string name) => ReleasePages(GetEntry(name), 0, GetEntry(name).ByteLength);

    /// <summary>Bytes copied between two page releases by <see cref="ReadTensorReleasingPages"/>.</summary>
    private const int ReleaseSliceBytes = 8 << 20;

    /// <summary>
    /// <see cref="ReadTensor"/> (or <see cref="ReadTensorAsFloat32"/> when <paramref name="asFloat32"/>), copied 8 MiB at a
    /// time with each slice's pages released once copied: the resident peak is the copy plus one slice, not the copy plus
    /// the whole mapped tensor (which matters for a 250 MB embedding).
    /// </summary>
    internal Tensor ReadTensorReleasingPages(string name, bool asFloat32)
    {
        var entry = GetEntry(name);
        var dtype = SupportedDType(entry);
        if (dtype == DType.Bool || (asFloat32 && !dtype.IsFloatingPoint()))
        {
            var whole = asFloat32 ? ReadTensorAsFloat32(name) : ReadTensor(name);
            ReleasePages(name);
            return whole;
        }
        int size = dtype.SizeOf();
        int sliceElements = ReleaseSliceBytes / size;
        if (asFloat32 && dtype != DType.F32)
        {
            var wide = Tensor.Zeros(CheckedShape(entry));
            wide.Name = name;
            var destination = wide.AsSpan();
            for (int start = 0; start < destination.Length; start += sliceElements)
            {
                int length = Math.Min(sliceElements, destination.Length - start);
                ReadAsFloat32(name, start, destination.Slice(start, length));
                ReleasePages(entry, (long)start * size, (long)length * size);
            }
            return wide;
        }
        var tensor = Tensor.Empty(dtype, CheckedShape(entry));
        tensor.Name = name;
        byte* source = DataPointer(entry);
        fixed (byte* target = &MemoryMarshal.GetArrayDataReference(tensor.Storage))
            for (long offset = 0; offset < entry.ByteLength; offset += ReleaseSliceBytes)
            {
                long length = Math.Min(ReleaseSliceBytes, entry.ByteLength - offset);
                Buffer.MemoryCopy(source + offset, target + offset, length, length);
                ReleasePages(entry, offset, length);
            }
        return tensor;
    }

    /// <summary>Releases the pages holding bytes [start, start + length) of <paramref name="entry"/>'s data (see <see cref="ReleasePages(string)"/>).</summary>
    private void ReleasePages(SafetensorsEntry entry, long start, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0)
            return;
        long page = Environment.SystemPageSize;
        long begin = (long)DataPointer(entry) + start;
        long first = begin / page * page;
        long last = (begin + length + page - 1) / page * page;
        // Neighbouring tensors may share the first and last page; a read-only file page dropped here is simply read
        // again on their next access. The result is ignored: this is advice, never needed for correctness.
        _ = LinuxMemory.Madvise((void*)first, (nuint)(last - first), LinuxMemory.DontNeed);
    }

    private static class LinuxMemory
    {
        /// <summary>MADV_DONTNEED on Linux.</summary>
        public const int DontNeed = 4;

        [DllImport("libc.so.6", EntryPoint = "madvise", SetLastError = true)]
        public static extern int Madvise(void* address, nuint length, int advice);
    }
}
