using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

/// <summary>
/// Every NF4 and FP4 threshold, exactly and one ulp on each side, through every quantize path (scalar reference and
/// each SIMD width): a tie takes the lower code (NF4) or the smaller magnitude (FP4), as bitsandbytes' CUDA
/// comparison tree does with the float32 values nvcc gives its literals.
/// </summary>
public class ThresholdTieTests
{
    private const int BlockSize = 64;

    public static TheoryData<int> Isas()
    {
        var data = new TheoryData<int>();
        foreach (var isa in KernelIsaInfo.Available) data.Add((int)isa);
        return data;
    }

    /// <summary>Inputs and their expected codes: block 0 starts with 1.0 (absmax 1, so x/absmax = x exactly).</summary>
    private static (float[] X, byte[] Codes) Cases(QuantType type)
    {
        var x = new List<float> { 1f };
        var codes = new List<byte> { type == QuantType.Nf4 ? (byte)15 : (byte)0b0011 };
        byte[] fp4CodeByRank = [0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011];
        var thresholds = type == QuantType.Nf4 ? Nf4Reference.Thresholds : Fp4Reference.Thresholds;
        for (int i = 0; i < thresholds.Length; i++)
        {
            float t = thresholds[i];
            byte below = type == QuantType.Nf4 ? (byte)i : fp4CodeByRank[i];
            byte above = type == QuantType.Nf4 ? (byte)(i + 1) : fp4CodeByRank[i + 1];
            x.AddRange([MathF.BitDecrement(t), t, MathF.BitIncrement(t)]);
            codes.AddRange([below, below, above]);
            if (type == QuantType.Fp4)
            {
                x.AddRange([-MathF.BitDecrement(t), -t, -MathF.BitIncrement(t)]);
                codes.AddRange([(byte)(below | 8), (byte)(below | 8), (byte)(above | 8)]);
            }
        }
        return (x.ToArray(), codes.ToArray());
    }

    private static byte Nibble(byte[] packed, int i) => (byte)(i % 2 == 0 ? packed[i / 2] >> 4 : packed[i / 2] & 0xF);

    [Theory]
    [MemberData(nameof(Isas))]
    public void EveryThresholdTiesToTheLowerCodeOnEveryPath(int isaValue)
    {
        var isa = (KernelIsa)isaValue;
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
        {
            var (x, expected) = Cases(type);
            Assert.True(x.Length <= BlockSize);
            var packed = new byte[(x.Length + 1) / 2];
            var absmax = new float[1];
            FourBitQuantizeKernel.Quantize(x, type, BlockSize, packed, absmax, 0, 1, isa);
            Assert.Equal(1f, absmax[0]);
            var reference = new byte[packed.Length];
            FourBitReference.Quantize(x, type, BlockSize, reference, new float[1]);
            for (int i = 0; i < x.Length; i++)
            {
                string what = $"{isa} {type} x[{i}] = {x[i]:R} (0x{BitConverter.SingleToUInt32Bits(x[i]):X8})";
                Assert.True(expected[i] == Nibble(packed, i), $"{what}: expected code {expected[i]}, kernel gave {Nibble(packed, i)}");
                Assert.True(expected[i] == Nibble(reference, i), $"{what}: expected code {expected[i]}, reference gave {Nibble(reference, i)}");
            }
        }
    }

    [Fact]
    public void TheOneInputBetweenEachOldAndCorrectedNf4ThresholdGetsBitsandbytesCudaCode()
    {
        // Old (double-rounded) t0, t12, t14 sat one ulp above the nvcc values: an input equal to the old value is now
        // above the threshold (code i+1, was i). Old t8 sat one ulp below: an input equal to the new t8 is now a tie
        // (code 8, was 9).
        (uint Input, int Code)[] cases = [(0xBF591CD8, 1), (0x3DF64863, 8), (0x3F006D04, 13), (0x3F5C89DA, 15)];
        foreach (var (input, code) in cases)
            Assert.Equal(code, Nf4Reference.Encode(BitConverter.UInt32BitsToSingle(input)));
    }
}
