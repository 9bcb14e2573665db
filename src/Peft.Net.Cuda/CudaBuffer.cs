using System.Runtime.InteropServices;
using Peft.Net.Cuda.Interop;

namespace Peft.Net.Cuda;

/// <summary>
/// A block of GPU memory (one <c>cuMemAlloc</c>, 256-byte aligned) on the device Peft.Net.Cuda uses. Keep inputs and
/// outputs on the GPU between calls with it (<see cref="CudaNf4.Dequantize(CudaQuantizedTensor, Peft.Net.Core.DType, CudaBuffer)"/>,
/// <see cref="CudaNf4.Gemv(CudaQuantizedTensor, CudaBuffer, CudaBuffer)"/>). Dispose it to free the memory.
/// </summary>
public sealed unsafe class CudaBuffer : IDisposable
{
    private readonly CudaDevice _device;
    private readonly ulong _pointer;
    private int _disposed;

    private CudaBuffer(CudaDevice device, ulong pointer, long sizeInBytes)
    {
        _device = device;
        _pointer = pointer;
        SizeInBytes = sizeInBytes;
    }

    /// <summary>Finalizer: frees the device memory of a buffer that was not disposed.</summary>
    ~CudaBuffer() => Free(fromFinalizer: true);

    /// <summary>Size of the allocation in bytes.</summary>
    public long SizeInBytes { get; }

    /// <summary>True once <see cref="Dispose"/> has freed the memory.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    internal ulong DevicePointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return _pointer;
        }
    }

    /// <summary>Allocates <paramref name="sizeInBytes"/> bytes of uninitialised GPU memory (0 is allowed).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="sizeInBytes"/> is negative.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">The allocation failed (e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>).</exception>
    public static CudaBuffer Allocate(long sizeInBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeInBytes);
        var device = CudaDevice.Require();
        ulong pointer = 0;
        if (sizeInBytes > 0)
            device.Api.Check(device.Api.MemAlloc(&pointer, (nuint)sizeInBytes), "cuMemAlloc", $"{sizeInBytes} bytes");
        return new CudaBuffer(device, pointer, sizeInBytes);
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="values"/>.</summary>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">The allocation or copy failed.</exception>
    public static CudaBuffer FromHost<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = Allocate((long)values.Length * sizeof(T));
        try
        {
            buffer.CopyFromHost(values);
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
        return buffer;
    }

    /// <summary>Copies <paramref name="source"/> into the buffer starting at byte <paramref name="byteOffset"/> (synchronous).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The copy would run past the end of the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    /// <exception cref="CudaException">The copy failed.</exception>
    public void CopyFromHost<T>(ReadOnlySpan<T> source, long byteOffset = 0) where T : unmanaged
    {
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(source);
        CheckRange(byteOffset, bytes.Length, "CopyFromHost");
        if (bytes.Length == 0)
            return;
        _device.MakeCurrent();
        fixed (byte* p = bytes)
            _device.Api.Check(_device.Api.MemcpyHtoD(DevicePointer + (ulong)byteOffset, p, (nuint)bytes.Length), "cuMemcpyHtoD");
    }

    /// <summary>Copies bytes starting at <paramref name="byteOffset"/> into <paramref name="destination"/> (waits for queued kernels).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The copy would run past the end of the buffer.</exception>
    /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
    /// <exception cref="CudaException">The copy failed, or a kernel that wrote the buffer faulted.</exception>
    public void CopyToHost<T>(Span<T> destination, long byteOffset = 0) where T : unmanaged
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        CheckRange(byteOffset, bytes.Length, "CopyToHost");
        if (bytes.Length == 0)
            return;
        _device.MakeCurrent();
        fixed (byte* p = bytes)
            _device.Api.Check(_device.Api.MemcpyDtoH(p, DevicePointer + (ulong)byteOffset, (nuint)bytes.Length), "cuMemcpyDtoH");
    }

    /// <summary>Frees the GPU memory. Safe to call more than once.</summary>
    public void Dispose()
    {
        Free(fromFinalizer: false);
        GC.SuppressFinalize(this);
    }

    private void Free(bool fromFinalizer)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _pointer == 0)
            return;
        // The finalizer thread has no current context; at process exit the driver may already be gone: ignore errors there.
        int contextResult = _device.Api.CtxSetCurrent(_device.Context);
        int result = _device.Api.MemFree(_pointer);
        if (!fromFinalizer)
        {
            _device.Api.Check(contextResult, "cuCtxSetCurrent");
            _device.Api.Check(result, "cuMemFree");
        }
    }

    private void CheckRange(long byteOffset, long length, string operation)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (byteOffset < 0 || byteOffset > SizeInBytes || length > SizeInBytes - byteOffset)
            throw new ArgumentOutOfRangeException(nameof(byteOffset),
                $"{operation}: {length} bytes at offset {byteOffset} do not fit in a {SizeInBytes}-byte CUDA buffer.");
    }
}
