using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Cuda.Tests.Testing;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// The float32 → float16/bfloat16 roundings the kernels use on the host side (pn_platform.cuh, which reproduces
/// CUDA's __float2half_rn / __float2bfloat16_rn) must equal .NET's round-to-nearest-even conversions on every
/// exponent and every rounding boundary. NaN becomes CUDA's canonical 0x7FFF.
/// </summary>
public sealed class HostEmulationRoundingTests
{
    [Fact]
    public void SoftwareRoundingMatchesDotNetOnEveryExponentAndBoundary()
    {
        // All 65536 upper halves × low halves at and around every rounding position (bits 0..15); the float16
        // rounding position (bit 12 for normals, up to bit 23 for subnormals) is covered by the upper halves.
        ushort[] lows = [0x0000, 0x0001, 0x0FFF, 0x1000, 0x1001, 0x1FFF, 0x2000, 0x3000, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x5A5A, 0xA5A5];
        var values = new float[65536 * lows.Length];
        int index = 0;
        for (uint hi = 0; hi < 65536; hi++)
            foreach (ushort lo in lows)
                values[index++] = BitConverter.UInt32BitsToSingle((hi << 16) | lo);

        using var dir = new TempDirectory("round");
        File.WriteAllBytes(dir.File("in.bin"), MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        HostEmulator.Run("--convert", dir.File("in.bin"), dir.File("f16.bin"), dir.File("bf16.bin"));
        ushort[] half = CaseFile.ReadOutput<ushort>(dir.File("f16.bin"));
        ushort[] bf16 = CaseFile.ReadOutput<ushort>(dir.File("bf16.bin"));
        Assert.Equal(values.Length, half.Length);
        Assert.Equal(values.Length, bf16.Length);

        for (int i = 0; i < values.Length; i++)
        {
            float v = values[i];
            if (float.IsNaN(v))
            {
                Assert.True(half[i] == 0x7FFF && bf16[i] == 0x7FFF, $"NaN 0x{BitConverter.SingleToUInt32Bits(v):X8} → 0x{half[i]:X4} / 0x{bf16[i]:X4}, CUDA gives 0x7FFF");
                continue;
            }
            ushort expectedHalf = BitConverter.HalfToUInt16Bits((Half)v);
            ushort expectedBf16 = BFloat16.FromSingle(v).Bits;
            if (half[i] != expectedHalf)
                Assert.Fail($"float16 of 0x{BitConverter.SingleToUInt32Bits(v):X8} ({v:G9}) is 0x{half[i]:X4}, .NET gives 0x{expectedHalf:X4}");
            if (bf16[i] != expectedBf16)
                Assert.Fail($"bfloat16 of 0x{BitConverter.SingleToUInt32Bits(v):X8} ({v:G9}) is 0x{bf16[i]:X4}, .NET gives 0x{expectedBf16:X4}");
        }
    }
}
