using System.Numerics;
using Peft.Net.Core;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// Queues the kernels of <c>kernels/dequant4.cu</c> and <c>kernels/gemv4.cu</c> on the default stream with the
/// parameter lists those files declare (all kernels of a file share one list; the pointers of the other absmax kind
/// are 0). Nothing here waits: callers synchronise or copy back.
/// </summary>
internal static unsafe class FourBitLaunches
{
    /// <summary>log2 of a power-of-two blocksize in [min, max]; <see cref="ArgumentException"/> otherwise.</summary>
    public static int BlockShift(int blockSize, int min, int max, string what, string tensor)
    {
        if (blockSize < min || blockSize > max || !BitOperations.IsPow2(blockSize))
            throw new ArgumentException($"{tensor}: {what} {blockSize} is not a power of two in [{min}, {max}], which the CUDA kernels need.");
        return BitOperations.Log2((uint)blockSize);
    }

    // out [n] of dtype ← weight [n]
    public static void EnqueueDequantize(CudaDevice device, CudaQuantizedTensor weight, DType dtype, CudaBuffer output) =>
        EnqueueDequantize(device, DeviceFourBitState.Of(weight), dtype, output.DevicePointer, IntPtr.Zero);

    // out [n] of dtype ← state [n], on a given stream (device pointers owned by the caller)
    public static void EnqueueDequantize(CudaDevice device, DeviceFourBitState state, DType dtype, ulong output, IntPtr stream)
    {
        long n = state.ElementCount;
        string kernel = KernelNames.Dequant(dtype, state.IsDoubleQuantized);
        long threads = (n + KernelNames.DequantValuesPerThread(dtype) - 1) / KernelNames.DequantValuesPerThread(dtype);
        long blocks = (threads + KernelNames.DequantBlockThreads - 1) / KernelNames.DequantBlockThreads;

        ulong packed = state.Packed, absmax = state.Absmax, codes = state.AbsmaxCodes, nestedAbsmax = state.NestedAbsmax;
        ulong nestedMap = state.NestedQuantMap, quantMap = state.QuantMap;
        ulong outPointer = output;
        float offset = state.Offset;
        string what = $"4-bit tensor of {n} elements (B = {state.BlockSize})";
        int nestedShift = state.IsDoubleQuantized ? BlockShift(state.NestedBlockSize, 2, 65536, "nested blocksize", what) : 0;
        int blockShift = BlockShift(state.BlockSize, 32, 4096, "blocksize", what);

        void** args = stackalloc void*[11];
        args[0] = &packed;
        args[1] = &absmax;
        args[2] = &codes;
        args[3] = &nestedAbsmax;
        args[4] = &nestedMap;
        args[5] = &offset;
        args[6] = &nestedShift;
        args[7] = &quantMap;
        args[8] = &outPointer;
        args[9] = &n;
        args[10] = &blockShift;
        device.Launch(kernel, blocks, KernelNames.DequantBlockThreads, args, stream);
    }

    // y [N] ← W [N, K] · x [K]
    public static void EnqueueGemv(CudaDevice device, CudaQuantizedTensor weight, long rows, long cols, CudaBuffer x, CudaBuffer y)
    {
        string kernel = KernelNames.Gemv(weight.IsDoubleQuantized);
        long blocks = (rows + KernelNames.GemvRowsPerBlock - 1) / KernelNames.GemvRowsPerBlock;

        ulong packed = weight.Packed.DevicePointer, absmax = weight.Absmax?.DevicePointer ?? 0;
        ulong codes = weight.AbsmaxCodes?.DevicePointer ?? 0, nestedAbsmax = weight.NestedAbsmax?.DevicePointer ?? 0;
        ulong nestedMap = weight.NestedMap?.DevicePointer ?? 0, quantMap = weight.QuantMap.DevicePointer;
        ulong xPointer = x.DevicePointer, yPointer = y.DevicePointer;
        float offset = weight.Offset;
        int nestedShift = weight.IsDoubleQuantized ? BlockShift(weight.NestedBlockSize, 2, 65536, "nested blocksize", weight.Description) : 0;
        int blockShift = BlockShift(weight.BlockSize, 32, 4096, "blocksize", weight.Description);

        void** args = stackalloc void*[13];
        args[0] = &packed;
        args[1] = &absmax;
        args[2] = &codes;
        args[3] = &nestedAbsmax;
        args[4] = &nestedMap;
        args[5] = &offset;
        args[6] = &nestedShift;
        args[7] = &quantMap;
        args[8] = &xPointer;
        args[9] = &yPointer;
        args[10] = &rows;
        args[11] = &cols;
        args[12] = &blockShift;
        device.Launch(kernel, blocks, KernelNames.GemvBlockThreads, args);
    }
}
