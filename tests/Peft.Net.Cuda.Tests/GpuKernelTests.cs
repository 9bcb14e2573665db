using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// The real kernels on a CUDA GPU against the C# reference (bit-exact dequantization; GEMV bit-exact against the
/// kernel-order emulation and within the float32 bound of float64), plus effective bandwidth. Skipped, with the
/// reason, on machines without a GPU.
/// </summary>
[Trait("Category", "Gpu")]
public sealed class GpuKernelTests(ITestOutputHelper output)
{
    private static readonly DType[] OutputTypes = [DType.F32, DType.F16, DType.BF16];

    [GpuFact]
    public void DequantizeMatchesReferenceOnEveryFormat()
    {
        output.WriteLine(CudaNf4.DeviceDescription);
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
            foreach (int blockSize in QuantizedTensor.SupportedBlockSizes)
                foreach (bool nested in new[] { false, true })
                    foreach (int n in new[] { 1, 7, 33, blockSize + 1, 3 * blockSize + 5, 257 * Math.Min(blockSize, 256) + 3 })
                    {
                        var tensor = TestWeights.Quantized([n], type, blockSize, nested, seed: (ulong)(n * 7 + blockSize));
                        foreach (var dtype in OutputTypes)
                            TestWeights.AssertBitEqual(TestWeights.Bits(tensor.Dequantize(dtype)), TestWeights.Bits(CudaNf4.Dequantize(tensor, dtype)),
                                dtype, $"GPU {tensor.Describe()} n={n} → {dtype}");
                    }
    }

    [GpuFact]
    public void DequantizeRawPartsWithSpecialValuesMatchesReference()
    {
        foreach (bool nested in new[] { false, true })
        {
            var tensor = TestWeights.RawParts(300 * 32 + 5, QuantType.Nf4, 32, nested, seed: 11);
            foreach (var dtype in OutputTypes)
                TestWeights.AssertBitEqual(TestWeights.Bits(tensor.Dequantize(dtype)), TestWeights.Bits(CudaNf4.Dequantize(tensor, dtype)),
                    dtype, $"GPU raw parts nested={nested} → {dtype}");
        }
    }

    [GpuFact]
    public void GemvMatchesKernelOrderAndFloat64()
    {
        foreach (var (rows, cols, blockSize, nested) in new[] { (7, 4096, 64, true), (130, 2080, 256, false), (9, 100, 64, true), (5, 33, 32, false) })
        {
            var weight = TestWeights.Quantized([rows, cols], QuantType.Nf4, blockSize, nested, seed: (ulong)cols);
            var random = new TensorRandom(3);
            var x = new float[cols];
            for (int k = 0; k < cols; k++) x[k] = (float)random.NextGaussian();
            var y = new float[rows];
            CudaNf4.Gemv(weight, x, y);
            TensorAssert.BitEqual(GemvReference.KernelOrder(weight, x), y, $"GPU GEMV {weight.Describe()}");
            GemvReference.AssertWithinFloat32Bound(weight, x, y, $"GPU GEMV {weight.Describe()}");
        }
    }

    [GpuFact]
    public void DeviceBufferVariantsMatchHostVariants()
    {
        var tensor = TestWeights.Quantized([64, 512], QuantType.Fp4, 128, doubleQuant: true, seed: 5);
        using var weight = CudaQuantizedTensor.Upload(tensor);
        using var output16 = CudaBuffer.Allocate(tensor.ElementCount * 2);
        CudaNf4.Dequantize(weight, DType.BF16, output16);
        var bits = new ushort[tensor.ElementCount];
        output16.CopyToHost<ushort>(bits);
        Assert.Equal(TestWeights.Bits(tensor.Dequantize(DType.BF16)), bits.Select(b => (uint)b).ToArray());

        var x = Enumerable.Range(0, 512).Select(i => MathF.Sin(i)).ToArray();
        using var xBuffer = CudaBuffer.FromHost<float>(x);
        using var yBuffer = CudaBuffer.Allocate(64 * sizeof(float));
        CudaNf4.Gemv(weight, xBuffer, yBuffer);
        var y = new float[64];
        yBuffer.CopyToHost<float>(y);
        TensorAssert.BitEqual(GemvReference.KernelOrder(tensor, x), y, "GPU GEMV from device buffers");
    }

    [GpuFact]
    public void BandwidthIsReported()
    {
        // A 4096 × 11008 NF4 weight (Llama-7B MLP size), B = 64, double-quantized. Bytes moved = packed + absmax
        // codes + output (dequant) or packed + absmax codes + x + y (GEMV).
        const int rows = 11008, cols = 4096;
        var tensor = TestWeights.Quantized([rows, cols], QuantType.Nf4, 64, doubleQuant: true, seed: 8);
        var device = CudaDevice.Require();
        output.WriteLine(device.Description);
        using var weight = CudaQuantizedTensor.Upload(tensor);
        long inputBytes = tensor.Packed.LongLength + tensor.QuantizedAbsmax!.LongLength;
        foreach (var dtype in OutputTypes)
        {
            using var outBuffer = CudaBuffer.Allocate(tensor.ElementCount * dtype.SizeOf());
            FourBitLaunches.EnqueueDequantize(device, weight, dtype, outBuffer);
            device.Synchronize("warm-up");
            double ms = CudaEventTimer.MillisecondsPerCall(device, () => FourBitLaunches.EnqueueDequantize(device, weight, dtype, outBuffer), 50);
            double gbps = (inputBytes + tensor.ElementCount * dtype.SizeOf()) / (ms * 1e6);
            output.WriteLine($"dequantize NF4 [{rows}, {cols}] B=64 DQ → {dtype}: {ms * 1000:F1} µs, {gbps:F0} GB/s");
            Assert.True(gbps > 0);
        }
        using var xBuffer = CudaBuffer.FromHost<float>(new float[cols]);
        using var yBuffer = CudaBuffer.Allocate(rows * sizeof(float));
        FourBitLaunches.EnqueueGemv(device, weight, rows, cols, xBuffer, yBuffer);
        device.Synchronize("warm-up");
        double gemvMs = CudaEventTimer.MillisecondsPerCall(device, () => FourBitLaunches.EnqueueGemv(device, weight, rows, cols, xBuffer, yBuffer), 50);
        double gemvGbps = (inputBytes + 4L * (rows + cols)) / (gemvMs * 1e6);
        output.WriteLine($"GEMV NF4 [{rows}, {cols}] B=64 DQ: {gemvMs * 1000:F1} µs, {gemvGbps:F0} GB/s");
        Assert.True(gemvGbps > 0);
    }
}
