using Peft.Net.Cuda.Interop;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda;

/// <summary>
/// A <see cref="QuantizedTensor"/> uploaded to the GPU once (packed codes, absmax or nested absmax state, code map),
/// for repeated <see cref="CudaNf4.Dequantize(CudaQuantizedTensor, Peft.Net.Core.DType, CudaBuffer)"/> and
/// <see cref="CudaNf4.Gemv(CudaQuantizedTensor, CudaBuffer, CudaBuffer)"/> calls without re-copying the weight.
/// Dispose it to free the GPU memory.
/// </summary>
public sealed class CudaQuantizedTensor : IDisposable
{
    private readonly int[] _shape;

    private CudaQuantizedTensor(QuantizedTensor source, CudaBuffer packed, CudaBuffer quantMap, CudaBuffer? absmax,
        CudaBuffer? absmaxCodes, CudaBuffer? nestedAbsmax, CudaBuffer? nestedMap)
    {
        _shape = source.Shape;
        QuantType = source.QuantType;
        BlockSize = source.BlockSize;
        ElementCount = source.ElementCount;
        IsDoubleQuantized = source.IsDoubleQuantized;
        Offset = source.Offset;
        NestedBlockSize = source.NestedBlockSize;
        Description = source.Describe();
        Packed = packed;
        QuantMap = quantMap;
        Absmax = absmax;
        AbsmaxCodes = absmaxCodes;
        NestedAbsmax = nestedAbsmax;
        NestedMap = nestedMap;
    }

    /// <summary>NF4 or FP4.</summary>
    public QuantType QuantType { get; }

    /// <summary>B: elements per absmax block.</summary>
    public int BlockSize { get; }

    /// <summary>A copy of the tensor's shape.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>n: number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>True when the absmax are 8-bit codes with nested state.</summary>
    public bool IsDoubleQuantized { get; }

    /// <summary>Bytes of GPU memory the tensor holds.</summary>
    public long DeviceBytes =>
        Packed.SizeInBytes + QuantMap.SizeInBytes + (Absmax?.SizeInBytes ?? 0) + (AbsmaxCodes?.SizeInBytes ?? 0)
        + (NestedAbsmax?.SizeInBytes ?? 0) + (NestedMap?.SizeInBytes ?? 0);

    internal float Offset { get; }
    internal int NestedBlockSize { get; }
    internal string Description { get; }
    internal CudaBuffer Packed { get; }
    internal CudaBuffer QuantMap { get; }
    internal CudaBuffer? Absmax { get; }
    internal CudaBuffer? AbsmaxCodes { get; }
    internal CudaBuffer? NestedAbsmax { get; }
    internal CudaBuffer? NestedMap { get; }

    /// <summary>Copies <paramref name="tensor"/>'s parts to GPU memory.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="tensor"/> is null.</exception>
    /// <exception cref="ArgumentException">The tensor's blocksizes are not powers of two the kernels support.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">An allocation or copy failed.</exception>
    public static CudaQuantizedTensor Upload(QuantizedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        FourBitLaunches.BlockShift(tensor.BlockSize, 32, 4096, "blocksize", tensor.Describe());
        if (tensor.IsDoubleQuantized)
            FourBitLaunches.BlockShift(tensor.NestedBlockSize, 2, 65536, "nested blocksize", tensor.Describe());
        CudaDevice.Require();

        var owned = new List<CudaBuffer>();
        CudaBuffer Put<T>(T[] data) where T : unmanaged
        {
            var buffer = CudaBuffer.FromHost<T>(data);
            owned.Add(buffer);
            return buffer;
        }
        try
        {
            var packed = Put(tensor.Packed);
            var quantMap = Put(tensor.QuantMap);
            if (!tensor.IsDoubleQuantized)
                return new CudaQuantizedTensor(tensor, packed, quantMap, Put(tensor.Absmax!), null, null, null);
            return new CudaQuantizedTensor(tensor, packed, quantMap, null, Put(tensor.QuantizedAbsmax!),
                Put(tensor.NestedAbsmax!), Put(tensor.NestedQuantMap!));
        }
        catch
        {
            foreach (var buffer in owned)
                buffer.Dispose();
            throw;
        }
    }

    /// <summary>Frees the GPU memory.</summary>
    public void Dispose()
    {
        Packed.Dispose();
        QuantMap.Dispose();
        Absmax?.Dispose();
        AbsmaxCodes?.Dispose();
        NestedAbsmax?.Dispose();
        NestedMap?.Dispose();
    }

    /// <summary>A short description of the source tensor.</summary>
    public override string ToString() => $"{Description} on the GPU";
}
