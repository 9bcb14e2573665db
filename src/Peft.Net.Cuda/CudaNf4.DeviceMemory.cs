using Peft.Net.Core;
using Peft.Net.Cuda.Interop;

namespace Peft.Net.Cuda;

public static partial class CudaNf4
{
    /// <summary>
    /// Queues the dequantization of a 4-bit tensor that already lives in GPU memory into
    /// <paramref name="destination"/> (n elements of <paramref name="dtype"/>), on <paramref name="stream"/> of the
    /// device's primary context — the context the CUDA runtime, and so LibTorch, uses — without waiting: work queued
    /// later on the same stream sees the result. This is the entry point for frameworks that own the memory
    /// (Peft.Net.TorchSharp's 4-bit layer on a CUDA tensor).
    /// </summary>
    /// <param name="state">Device pointers and sizes of the 4-bit tensor.</param>
    /// <param name="destination">Device pointer to n · sizeof(dtype) bytes.</param>
    /// <param name="dtype">F32, F16 or BF16.</param>
    /// <param name="stream">A CUstream of the primary context (0: the legacy default stream).</param>
    /// <exception cref="ArgumentException">The description is inconsistent, the destination is 0, or the dtype is not a floating type.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">The launch failed.</exception>
    public static void EnqueueDequantize(DeviceFourBitState state, ulong destination, DType dtype, IntPtr stream)
    {
        if (state.FindProblem() is { } problem)
            throw new ArgumentException($"4-bit device tensor: {problem}.", nameof(state));
        if (destination == 0)
            throw new ArgumentException("The destination device pointer is 0.", nameof(destination));
        CheckOutputType(dtype);
        var device = CudaDevice.Require();
        device.MakeCurrent();
        FourBitLaunches.EnqueueDequantize(device, state, dtype, destination, stream);
    }
}
