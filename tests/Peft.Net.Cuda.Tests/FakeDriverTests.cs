using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FakeDriverCollection
{
    public const string Name = "Fake CUDA driver";
}

/// <summary>
/// The whole C# runtime — driver loading, cuInit, device query, PTX choice, module and function lookup, allocation,
/// copies, kernel argument lists and launch shapes — against kernels/host/fake_cuda_driver.cpp, a libcuda stand-in
/// that runs the same kernel sources on the CPU and checks every pointer, size and launch parameter. Runs alone
/// (the public API is routed to the fake device while a test runs).
/// </summary>
[Collection(FakeDriverCollection.Name)]
public sealed unsafe class FakeDriverTests
{
    private static readonly DType[] OutputTypes = [DType.F32, DType.F16, DType.BF16];

    internal static (CudaDevice? Device, string Failure, IntPtr Library) Initialise(int major, int minor)
    {
        Assert.True(OperatingSystem.IsLinux(), "The fake driver is a Linux shared library (built by build_host.sh).");
        string path = HostEmulator.FakeDriverLibrary;
        var api = CudaDriverApi.TryLoad([path], out string loadFailure);
        Assert.True(api is not null, loadFailure);
        IntPtr library = NativeLibrary.Load(path);
        var setCapability = (delegate* unmanaged<int, int, void>)NativeLibrary.GetExport(library, "fake_cuda_set_compute_capability");
        setCapability(major, minor);
        var (device, failure) = CudaDevice.Initialise(api);
        return (device, failure, library);
    }

    private static string LoadedTarget(IntPtr library) =>
        Marshal.PtrToStringUTF8((IntPtr)((delegate* unmanaged<byte*>)NativeLibrary.GetExport(library, "fake_cuda_loaded_target"))()) ?? "";

    internal static int LiveAllocations(IntPtr library) =>
        ((delegate* unmanaged<int>)NativeLibrary.GetExport(library, "fake_cuda_live_allocations"))();

    [Theory]
    [InlineData(7, 0, "sm_70")]
    [InlineData(7, 5, "sm_70")]
    [InlineData(8, 6, "sm_80")]
    [InlineData(9, 0, "sm_90")]
    [InlineData(12, 0, "sm_90")]
    public void LoadsTheHighestPtxNotAboveTheDevice(int major, int minor, string target)
    {
        var (device, failure, library) = Initialise(major, minor);
        Assert.True(device is not null, failure);
        Assert.Equal(target, LoadedTarget(library));
        Assert.Equal(int.Parse(target[3..]), device.PtxArchitecture);
        Assert.Contains("fake CUDA driver", device.Description);
    }

    [Fact]
    public void PreVoltaDeviceIsUnavailableWithReason()
    {
        var (device, failure, _) = Initialise(6, 1);
        Assert.Null(device);
        Assert.Contains("compute capability 6.1", failure);
        Assert.Contains("7.0", failure);
    }

    [Fact]
    public void PublicApiDequantizesBitExactThroughTheDriver()
    {
        var (device, failure, library) = Initialise(9, 0);
        Assert.True(device is not null, failure);
        int before = LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            Assert.True(CudaNf4.IsAvailable);
            Assert.Null(CudaNf4.UnavailableReason);
            foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
                foreach (int blockSize in new[] { 32, 64, 512, 4096 })
                    foreach (bool nested in new[] { false, true })
                        foreach (int[] shape in new[] { [1], [3 * blockSize + 5], new[] { 7, 2 * blockSize + 3 } })
                        {
                            var tensor = TestWeights.Quantized(shape, type, blockSize, nested, seed: (ulong)(blockSize + shape[^1]));
                            foreach (var dtype in OutputTypes)
                            {
                                Tensor result = CudaNf4.Dequantize(tensor, dtype);
                                Assert.Equal(tensor.Shape, result.ShapeArray());
                                Assert.Equal(dtype, result.DType);
                                TestWeights.AssertBitEqual(TestWeights.Bits(tensor.Dequantize(dtype)), TestWeights.Bits(result), dtype,
                                    $"fake driver {tensor.Describe()} → {dtype}");
                            }
                        }
        }
        Assert.Equal(before, LiveAllocations(library));
    }

    [Fact]
    public void PublicApiGemvMatchesKernelOrderThroughTheDriver()
    {
        var (device, failure, library) = Initialise(8, 0);
        Assert.True(device is not null, failure);
        int before = LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            foreach (var (rows, cols, blockSize, nested) in new[] { (7, 4096, 64, true), (13, 2080, 256, false), (9, 100, 64, true), (5, 33, 32, false) })
            {
                var weight = TestWeights.Quantized([rows, cols], QuantType.Nf4, blockSize, nested, seed: (ulong)(rows + cols));
                var x = Enumerable.Range(0, cols).Select(i => MathF.Cos(i * 0.37f)).ToArray();
                var y = new float[rows];
                CudaNf4.Gemv(weight, x, y);
                TensorAssert.BitEqual(GemvReference.KernelOrder(weight, x), y, $"fake driver GEMV {weight.Describe()}");
            }
        }
        Assert.Equal(before, LiveAllocations(library));
    }

    [Fact]
    public void DeviceBufferOverloadsRoundTrip()
    {
        var (device, failure, library) = Initialise(9, 0);
        Assert.True(device is not null, failure);
        int before = LiveAllocations(library);
        using (CudaDevice.Substitute(device))
        {
            var tensor = TestWeights.Quantized([16, 96], QuantType.Fp4, 32, doubleQuant: true, seed: 4);
            using (var weight = CudaQuantizedTensor.Upload(tensor))
            {
                Assert.True(weight.DeviceBytes >= tensor.Packed.Length + tensor.QuantizedAbsmax!.Length);
                using var output = CudaBuffer.Allocate(tensor.ElementCount * 2);
                CudaNf4.Dequantize(weight, DType.F16, output);
                var bits = new ushort[tensor.ElementCount];
                output.CopyToHost<ushort>(bits);
                Assert.Equal(TestWeights.Bits(tensor.Dequantize(DType.F16)), bits.Select(b => (uint)b).ToArray());

                var x = Enumerable.Range(0, 96).Select(i => i * 0.01f - 0.3f).ToArray();
                using var xBuffer = CudaBuffer.FromHost<float>(x);
                using var yBuffer = CudaBuffer.Allocate(16 * sizeof(float));
                CudaNf4.Gemv(weight, xBuffer, yBuffer);
                var y = new float[16];
                yBuffer.CopyToHost<float>(y);
                TensorAssert.BitEqual(GemvReference.KernelOrder(tensor, x), y, "fake driver GEMV on device buffers");

                using var small = CudaBuffer.Allocate(tensor.ElementCount * 2 - 1);
                var e = Assert.Throws<ArgumentException>(() => CudaNf4.Dequantize(weight, DType.F16, small));
                Assert.Contains("needs", e.Message);
                Assert.Throws<ArgumentException>(() => CudaNf4.Gemv(weight, small, CudaBuffer.Allocate(0)));
            }
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, LiveAllocations(library));
    }

    [Fact]
    public void DriverErrorsBecomeCudaExceptionsWithTheirNames()
    {
        var (device, failure, _) = Initialise(9, 0);
        Assert.True(device is not null, failure);
        using (CudaDevice.Substitute(device))
        {
            var e = Assert.Throws<CudaException>(() => CudaBuffer.Allocate(1L << 40));
            Assert.Equal("CUDA_ERROR_OUT_OF_MEMORY", e.ErrorName);
            Assert.Equal(2, e.ErrorCode);
            Assert.Equal("cuMemAlloc", e.Operation);
            Assert.Contains("CUDA_ERROR_OUT_OF_MEMORY (2): out of memory", e.Message);

            var buffer = CudaBuffer.Allocate(8);
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyFromHost<float>([1f, 2f, 3f]));
            Assert.Throws<ArgumentOutOfRangeException>(() => buffer.CopyToHost<float>(new float[1], byteOffset: 6));
            buffer.Dispose();
            buffer.Dispose();
            Assert.True(buffer.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => buffer.CopyFromHost<float>([1f]));
        }
    }

    [Fact]
    public void EventTimerMeasuresEnqueuedWork()
    {
        var (device, failure, _) = Initialise(9, 0);
        Assert.True(device is not null, failure);
        var tensor = TestWeights.Quantized([4096], QuantType.Nf4, 64, doubleQuant: false, seed: 2);
        using var scope = CudaDevice.Substitute(device);
        using var weight = CudaQuantizedTensor.Upload(tensor);
        using var output = CudaBuffer.Allocate(4096 * 4);
        // The fake driver's events read the host clock, so work that takes a known time shows up: 8 calls of at least
        // 10 ms each must average at least 10 ms per call, and far less than the 80 ms they take together (the timer
        // divides by the number of calls).
        int calls = 0;
        double ms = CudaEventTimer.MillisecondsPerCall(device, () =>
        {
            FourBitLaunches.EnqueueDequantize(device, weight, DType.F32, output);
            Thread.Sleep(10);
            calls++;
        }, 8);
        Assert.Equal(8, calls);
        Assert.True(ms >= 9.9, $"{ms} ms per call for calls that each sleep 10 ms");
        Assert.True(ms < 70, $"{ms} ms per call: the total (≥ 80 ms) was not divided by the 8 calls");
    }
}
