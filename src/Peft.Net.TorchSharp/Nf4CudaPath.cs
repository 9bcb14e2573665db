using System.Runtime.InteropServices;
using Peft.Net.Cuda;
using Peft.Net.Quantization;
using TorchSharp;
using static TorchSharp.torch;

namespace Peft.Net.TorchSharp;

/// <summary>
/// How <see cref="Nf4Linear"/> decodes when its buffers live on a CUDA device: the buffers' device pointers (read from
/// LibTorch) become a <see cref="DeviceFourBitState"/>, and Peft.Net.Cuda's NF4/FP4 kernel writes the float32 weight
/// straight into a new tensor on the same device, in the device's primary context (the one LibTorch's CUDA runtime
/// uses) on the legacy default stream, which is LibTorch's current stream unless the application switched streams.
/// Nothing is copied through the host. Not run in this repository's CI: no CUDA build of LibTorch is served to it and
/// no GPU is lent; the pointer marshalling is tested on CPU tensors and the kernel entry point through the fake driver.
/// </summary>
internal static class Nf4CudaPath
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    public static Tensor Dequantize(Nf4Linear layer, Device device)
    {
        var result = torch.empty([layer.OutFeatures, layer.InFeatures], ScalarType.Float32, device);
        var state = Describe(layer, DataPointer);
        CudaNf4.EnqueueDequantize(state, (ulong)DataPointer(result), Peft.Net.Core.DType.F32, IntPtr.Zero);
        return result;
    }

    /// <summary>The data pointer of a tensor's first element (a device pointer for CUDA tensors).</summary>
    public static long DataPointer(Tensor tensor)
    {
        var pointer = THSTensor_data(tensor.Handle);
        torch.CheckForErrors();
        return (long)pointer;
    }

    /// <summary>The layer's bitsandbytes buffers as a <see cref="DeviceFourBitState"/>, with <paramref name="pointerOf"/> giving each buffer's address.</summary>
    public static DeviceFourBitState Describe(Nf4Linear layer, Func<Tensor, long> pointerOf)
    {
        var buffers = layer.named_buffers(recurse: false).ToDictionary(b => b.name, b => b.buffer);
        var info = layer.Weight;   // shape, blocksize and offset (read back from the buffers when they moved)
        ulong Pointer(string suffix) => buffers.TryGetValue("weight" + suffix, out var t) ? (ulong)pointerOf(t) : 0;
        bool nested = info.IsDoubleQuantized;
        return new DeviceFourBitState(
            Packed: Pointer(""),
            QuantMap: Pointer(Bnb4BitSerializer.QuantMapSuffix),
            Absmax: nested ? 0 : Pointer(Bnb4BitSerializer.AbsmaxSuffix),
            AbsmaxCodes: nested ? Pointer(Bnb4BitSerializer.AbsmaxSuffix) : 0,
            NestedAbsmax: nested ? Pointer(Bnb4BitSerializer.NestedAbsmaxSuffix) : 0,
            NestedQuantMap: nested ? Pointer(Bnb4BitSerializer.NestedQuantMapSuffix) : 0,
            Offset: info.Offset,
            ElementCount: info.ElementCount,
            BlockSize: info.BlockSize,
            NestedBlockSize: info.NestedBlockSize);
    }
}
