using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda;

/// <summary>
/// NF4/FP4 4-bit blockwise dequantization and the fused 4-bit GEMV on an NVIDIA GPU, with Peft.Net's own CUDA kernels
/// (embedded PTX, loaded through the driver API: only the NVIDIA driver is needed). Results are bit-identical to
/// <see cref="QuantizedTensor.Dequantize"/>: out[i] = cvt(fl32(QuantMap[code_i] · absmax[i / B])), with the nested
/// absmax computed in bitsandbytes' order and float16/bfloat16 rounded to nearest even.
/// </summary>
/// <remarks>
/// Uses CUDA device 0 (respecting <c>CUDA_VISIBLE_DEVICES</c>) and its primary context. Every method except
/// <see cref="IsAvailable"/> throws <see cref="CudaUnavailableException"/> on a machine without a usable GPU.
/// </remarks>
public static partial class CudaNf4
{
    /// <summary>True when a CUDA GPU (compute capability 7.0+) and driver are usable and the kernels loaded. Never throws.</summary>
    public static bool IsAvailable => CudaDevice.TryGet(out _) is not null;

    /// <summary>Why CUDA is unavailable, or null when <see cref="IsAvailable"/> is true. Never throws.</summary>
    public static string? UnavailableReason => CudaDevice.TryGet(out string failure) is null ? failure : null;

    /// <summary>The GPU in use: name, compute capability, driver version and the PTX architecture loaded.</summary>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    public static string DeviceDescription => CudaDevice.Require().Description;

    /// <summary>Dequantizes <paramref name="tensor"/> on the GPU into a new host tensor of its shape and <paramref name="dtype"/>.</summary>
    /// <param name="tensor">The 4-bit tensor (uploaded for this call; use <see cref="CudaQuantizedTensor"/> to keep it on the GPU).</param>
    /// <param name="dtype">F32, F16 or BF16.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tensor"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating type, or the tensor is too large for one <see cref="Tensor"/>.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">A driver call or the kernel failed.</exception>
    public static Tensor Dequantize(QuantizedTensor tensor, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckOutputType(dtype);
        if (tensor.ElementCount > Array.MaxLength)
            throw new ArgumentException($"{tensor.Describe()} has {tensor.ElementCount} elements, more than one tensor can hold; use the CudaBuffer overload.", nameof(tensor));
        var device = CudaDevice.Require();
        var result = Tensor.Empty(dtype, tensor.Shape);
        using var weight = CudaQuantizedTensor.Upload(tensor);
        using var output = CudaBuffer.Allocate(tensor.ElementCount * dtype.SizeOf());
        FourBitLaunches.EnqueueDequantize(device, weight, dtype, output);
        device.Synchronize(KernelNames.Dequant(dtype, weight.IsDoubleQuantized));
        switch (dtype)
        {
            case DType.F32: output.CopyToHost(result.AsSpan<float>()); break;
            case DType.F16: output.CopyToHost(result.AsSpan<Half>()); break;
            default: output.CopyToHost(result.AsSpan<BFloat16>()); break;
        }
        return result;
    }

    /// <summary>
    /// Dequantizes a GPU-resident tensor into <paramref name="destination"/> (n elements of <paramref name="dtype"/>,
    /// row-major) and waits for the kernel.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating type or <paramref name="destination"/> is too small.</exception>
    /// <exception cref="ObjectDisposedException">A buffer was disposed.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">The kernel failed.</exception>
    public static void Dequantize(CudaQuantizedTensor tensor, DType dtype, CudaBuffer destination)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(destination);
        CheckOutputType(dtype);
        long needed = tensor.ElementCount * dtype.SizeOf();
        if (destination.SizeInBytes < needed)
            throw new ArgumentException($"Destination holds {destination.SizeInBytes} bytes; {tensor.Description} as {dtype} needs {needed}.", nameof(destination));
        var device = CudaDevice.Require();
        FourBitLaunches.EnqueueDequantize(device, tensor, dtype, destination);
        device.Synchronize(KernelNames.Dequant(dtype, tensor.IsDoubleQuantized));
    }

    /// <summary>
    /// y = W · x for a 4-bit weight W [N, K] (a linear layer's [out, in]) on the GPU: the weight is dequantized in
    /// registers, products are accumulated in float32 (one FMA per element, then a warp-level sum per row).
    /// </summary>
    /// <param name="weight">W [N, K] (uploaded for this call; use the <see cref="CudaQuantizedTensor"/> overload to keep it on the GPU).</param>
    /// <param name="x">x [K].</param>
    /// <param name="y">y [N], overwritten.</param>
    /// <exception cref="ArgumentNullException"><paramref name="weight"/> is null.</exception>
    /// <exception cref="ArgumentException">W is not 2-D or the lengths of x or y do not match it.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">A driver call or the kernel failed.</exception>
    public static void Gemv(QuantizedTensor weight, ReadOnlySpan<float> x, Span<float> y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        var (rows, cols) = GemvShape(weight.Shape, weight.Describe(), x.Length, y.Length);
        var device = CudaDevice.Require();
        using var w = CudaQuantizedTensor.Upload(weight);
        using var xBuffer = CudaBuffer.FromHost(x);
        using var yBuffer = CudaBuffer.Allocate((long)rows * sizeof(float));
        FourBitLaunches.EnqueueGemv(device, w, rows, cols, xBuffer, yBuffer);
        device.Synchronize(KernelNames.Gemv(w.IsDoubleQuantized));
        yBuffer.CopyToHost(y);
    }

    /// <summary>
    /// y = W · x with everything on the GPU: <paramref name="x"/> holds K float32, <paramref name="y"/> receives N float32.
    /// Waits for the kernel.
    /// </summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException">W is not 2-D or a buffer is too small.</exception>
    /// <exception cref="ObjectDisposedException">A buffer was disposed.</exception>
    /// <exception cref="CudaUnavailableException">No usable CUDA GPU or driver.</exception>
    /// <exception cref="CudaException">The kernel failed.</exception>
    public static void Gemv(CudaQuantizedTensor weight, CudaBuffer x, CudaBuffer y)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        int[] shape = weight.Shape;
        if (shape.Length != 2)
            throw new ArgumentException($"GEMV needs a 2-D weight [N, K]; {weight.Description} is {shape.Length}-D.", nameof(weight));
        long rows = shape[0], cols = shape[1];
        if (x.SizeInBytes < cols * sizeof(float))
            throw new ArgumentException($"x holds {x.SizeInBytes} bytes; {weight.Description} needs K = {cols} floats.", nameof(x));
        if (y.SizeInBytes < rows * sizeof(float))
            throw new ArgumentException($"y holds {y.SizeInBytes} bytes; {weight.Description} needs N = {rows} floats.", nameof(y));
        var device = CudaDevice.Require();
        FourBitLaunches.EnqueueGemv(device, weight, rows, cols, x, y);
        device.Synchronize(KernelNames.Gemv(weight.IsDoubleQuantized));
    }

    private static void CheckOutputType(DType dtype)
    {
        if (!dtype.IsFloatingPoint())
            throw new ArgumentException($"4-bit dequantization writes F32, F16 or BF16, not {dtype}.", nameof(dtype));
    }

    private static (int Rows, int Cols) GemvShape(int[] shape, string what, int xLength, int yLength)
    {
        if (shape.Length != 2)
            throw new ArgumentException($"GEMV needs a 2-D weight [N, K]; {what} is {shape.Length}-D.", "weight");
        if (xLength != shape[1])
            throw new ArgumentException($"x has {xLength} elements; {what} needs K = {shape[1]}.", "x");
        if (yLength != shape[0])
            throw new ArgumentException($"y has {yLength} elements; {what} needs N = {shape[0]}.", "y");
        return (shape[0], shape[1]);
    }
}
