using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

/// <summary>Without a GPU or driver every entry point fails with <see cref="CudaUnavailableException"/>; IsAvailable never throws.</summary>
public sealed class CudaUnavailableTests
{
    private static QuantizedTensor Weight() => TestWeights.Quantized([4, 64], QuantType.Nf4, 64, doubleQuant: false, seed: 1);

    [Fact]
    public void IsAvailableAndReasonNeverThrow()
    {
        bool available = CudaNf4.IsAvailable;
        string? reason = CudaNf4.UnavailableReason;
        Assert.Equal(available, reason is null);
        if (!available)
            Assert.False(string.IsNullOrWhiteSpace(reason));
    }

    [NoGpuFact]
    public void DequantizeToHostThrowsUnavailable()
    {
        var e = Assert.Throws<CudaUnavailableException>(() => CudaNf4.Dequantize(Weight(), DType.F16));
        Assert.Equal(CudaNf4.UnavailableReason, e.Reason);
        Assert.StartsWith("CUDA is not available: ", e.Message);
    }

    [NoGpuFact]
    public void GemvOnHostSpansThrowsUnavailable()
    {
        var y = new float[4];
        Assert.Throws<CudaUnavailableException>(() => CudaNf4.Gemv(Weight(), new float[64], y));
    }

    [NoGpuFact]
    public void DeviceBuffersAndUploadThrowUnavailable()
    {
        Assert.Throws<CudaUnavailableException>(() => CudaBuffer.Allocate(16));
        Assert.Throws<CudaUnavailableException>(() => CudaBuffer.FromHost<float>([1f, 2f]));
        Assert.Throws<CudaUnavailableException>(() => CudaQuantizedTensor.Upload(Weight()));
        Assert.Throws<CudaUnavailableException>(() => CudaNf4.DeviceDescription);
    }

    [NoGpuFact]
    public void ReasonSaysWhetherTheDriverOrTheGpuIsMissing()
    {
        string reason = CudaNf4.UnavailableReason!;
        string library = CudaDriverApi.DefaultLibraryNames().FirstOrDefault() ?? "";
        bool driverInstalled = library.Length > 0 && NativeLibrary.TryLoad(library, out IntPtr handle) && Free(handle);
        if (driverInstalled)
        {
            // every export resolved from the real driver, then cuInit found no GPU (e.g. CUDA_ERROR_NO_DEVICE)
            Assert.Contains("cuInit failed with CUDA_ERROR_", reason);
        }
        else
        {
            Assert.Contains(library.Length > 0 ? library : "no NVIDIA CUDA driver", reason);
            Assert.Contains("NVIDIA driver", reason);
        }
    }

    private static bool Free(IntPtr handle)
    {
        NativeLibrary.Free(handle);
        return true;
    }

    [Fact]
    public void ArgumentErrorsComeBeforeTheGpuCheck()
    {
        var weight = Weight();
        Assert.Throws<ArgumentNullException>(() => CudaNf4.Dequantize(null!, DType.F32));
        Assert.Throws<ArgumentException>(() => CudaNf4.Dequantize(weight, DType.U8));
        var x = Assert.Throws<ArgumentException>(() => CudaNf4.Gemv(weight, new float[63], new float[4]));
        Assert.Contains("K = 64", x.Message);
        var y = Assert.Throws<ArgumentException>(() => CudaNf4.Gemv(weight, new float[64], new float[3]));
        Assert.Contains("N = 4", y.Message);
        var oneD = TestWeights.Quantized([64], QuantType.Nf4, 64, doubleQuant: false, seed: 1);
        Assert.Throws<ArgumentException>(() => CudaNf4.Gemv(oneD, new float[64], new float[1]));
    }
}
