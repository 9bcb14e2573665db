using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Cuda.Interop;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// <see cref="CudaNf4.EnqueueDequantize(DeviceFourBitState, ulong, DType, IntPtr)"/> — the entry point a framework
/// that owns the GPU memory (Peft.Net.TorchSharp's 4-bit layer) uses — through the fake driver: the parts are placed in
/// separately allocated device memory as a framework would hold them, the kernel runs on the caller's stream, and the
/// result is bit-identical to the CPU decoder.
/// </summary>
[Collection(FakeDriverCollection.Name)]
public sealed unsafe class DeviceMemoryDequantTests
{
    [Theory]
    [InlineData(QuantType.Nf4, 64, true)]
    [InlineData(QuantType.Nf4, 128, false)]
    [InlineData(QuantType.Fp4, 32, true)]
    public void Framework_owned_parts_dequantize_bit_exactly_on_the_callers_stream(QuantType type, int blockSize, bool nested)
    {
        var (device, failure, library) = FakeDriverTests.Initialise(8, 6);
        Assert.True(device is not null, failure);
        int before = FakeDriverTests.LiveAllocations(library);
        var lastStream = (delegate* unmanaged<nuint>)NativeLibrary.GetExport(library, "fake_cuda_last_stream");
        using (CudaDevice.Substitute(device))
        {
            var tensor = TestWeights.Quantized([24, 3 * blockSize + 7], type, blockSize, nested, seed: 21);
            using var packed = CudaBuffer.FromHost<byte>(tensor.Packed);
            using var map = CudaBuffer.FromHost<float>(tensor.QuantMap);
            using var absmax = nested ? null : CudaBuffer.FromHost<float>(tensor.Absmax!);
            using var codes = nested ? CudaBuffer.FromHost<byte>(tensor.QuantizedAbsmax!) : null;
            using var nestedAbsmax = nested ? CudaBuffer.FromHost<float>(tensor.NestedAbsmax!) : null;
            using var nestedMap = nested ? CudaBuffer.FromHost<float>(tensor.NestedQuantMap!) : null;
            using var output = CudaBuffer.Allocate(tensor.ElementCount * sizeof(float));
            var state = new DeviceFourBitState(packed.DevicePointer, map.DevicePointer, absmax?.DevicePointer ?? 0, codes?.DevicePointer ?? 0,
                nestedAbsmax?.DevicePointer ?? 0, nestedMap?.DevicePointer ?? 0, tensor.Offset, tensor.ElementCount, blockSize);

            var stream = (IntPtr)0x5EED;
            CudaNf4.EnqueueDequantize(state, output.DevicePointer, DType.F32, stream);
            Assert.Equal((nuint)0x5EED, lastStream());
            var result = new float[tensor.ElementCount];
            output.CopyToHost<float>(result);
            TestWeights.AssertBitEqual(TestWeights.Bits(tensor.Dequantize(DType.F32)), result.Select(BitConverter.SingleToUInt32Bits).ToArray(), DType.F32,
                $"device-memory dequantize {tensor.Describe()}");

            var broken = state with { Absmax = nested ? 1234UL : 0UL };
            var error = Assert.Throws<ArgumentException>(() => CudaNf4.EnqueueDequantize(broken, output.DevicePointer, DType.F32, stream));
            Assert.Contains("4-bit device tensor", error.Message);
            Assert.Throws<ArgumentException>(() => CudaNf4.EnqueueDequantize(state, 0, DType.F32, stream));
        }
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(before, FakeDriverTests.LiveAllocations(library));
    }
}
