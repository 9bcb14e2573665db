using Peft.Net.Quantization;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Quantization;

/// <summary>Every vectorised path against the scalar reference, bit for bit.</summary>
public class KernelTests
{
    public static TheoryData<int> Isas()
    {
        var data = new TheoryData<int>();
        foreach (var isa in KernelIsaInfo.Available) data.Add((int)isa);
        return data;
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Quantize_paths_equal_the_reference_on_every_length_and_blocksize(int isaValue)
    {
        var isa = (KernelIsa)isaValue;
        foreach (var type in QuantTypes)
        foreach (int blockSize in BlockSizes)
        foreach (int n in SimdLengths.Concat([blockSize - 1, blockSize, blockSize + 1, 3 * blockSize + 33]).Distinct())
        {
            var x = Mixed(n, blockSize, seed: n + blockSize);
            int nb = (n + blockSize - 1) / blockSize;
            var expectedPacked = new byte[(n + 1) / 2];
            var expectedAbsmax = new float[nb];
            FourBitReference.Quantize(x, type, blockSize, expectedPacked, expectedAbsmax);
            var packed = new byte[(n + 1) / 2];
            var absmax = new float[nb];
            FourBitQuantizeKernel.Quantize(x, type, blockSize, packed, absmax, 0, nb, isa);
            string what = $"{isa} {type} B={blockSize} n={n}";
            BytesEqual(expectedPacked, packed, what + " packed");
            BitEqual(expectedAbsmax, absmax, what + " absmax");
        }
    }

    [Theory]
    [MemberData(nameof(Isas))]
    public void Dequantize_paths_equal_the_reference_for_every_start_and_length(int isaValue)
    {
        var isa = (KernelIsa)isaValue;
        foreach (var type in QuantTypes)
        foreach (int blockSize in new[] { 32, 64, 256 })
        {
            int n = 3 * blockSize + 77;
            var q = Nf4Quantizer.Quantize(Core.Tensor.FromArray(Mixed(n, blockSize, 11)), type, blockSize);
            foreach (int start in new[] { 0, 1, 2, 15, 16, 17, 31, 33, blockSize - 1, blockSize + 3 })
            foreach (int length in SimdLengths)
            {
                if (start + length > n) continue;
                var expected = new float[length];
                FourBitReference.Dequantize(q.Packed, q.Absmax!, type, blockSize, start, expected);
                var actual = new float[length];
                FourBitDequantizeKernel.Decode(q.Packed, q.Scales, q.QuantMap, blockSize, start, actual, isa);
                BitEqual(expected, actual, $"{isa} {type} B={blockSize} start={start} length={length}");
            }
        }
    }

    [Fact]
    public void Large_tensors_take_the_parallel_paths_and_still_equal_the_reference()
    {
        int n = (1 << 21) + 2 * 4096 + 101; // above both parallel thresholds, odd, with a tail block
        var x = Mixed(n, 64, 5);
        var q = Nf4Quantizer.Quantize(Core.Tensor.FromArray(x), QuantType.Nf4, 64);
        var expectedPacked = new byte[(n + 1) / 2];
        var expectedAbsmax = new float[(n + 63) / 64];
        FourBitReference.Quantize(x, QuantType.Nf4, 64, expectedPacked, expectedAbsmax);
        BytesEqual(expectedPacked, q.Packed, "packed");
        BitEqual(expectedAbsmax, q.Absmax, "absmax");
        var expected = new float[n];
        FourBitReference.Dequantize(q.Packed, q.Absmax!, QuantType.Nf4, 64, 0, expected);
        var actual = new float[n];
        q.DequantizeInto(actual);
        BitEqual(expected, actual, "dequantized");
    }

    [Fact]
    public void Infinity_in_a_block_gives_inv_zero_so_the_infinity_is_code_0_and_finite_values_code_7()
    {
        float[] x = [float.PositiveInfinity, 1f, -2f, float.NegativeInfinity, 5f];
        foreach (var isa in KernelIsaInfo.Available)
        {
            var packed = new byte[3];
            var absmax = new float[1];
            FourBitQuantizeKernel.Quantize(x, QuantType.Nf4, 64, packed, absmax, 0, 1, isa);
            Assert.Equal(float.PositiveInfinity, absmax[0]);
            Assert.Equal(new byte[] { 0x07, 0x70, 0x77 }, packed);
        }
        var run = Enumerable.Range(0, 70).Select(i => i % 9 == 0 ? float.PositiveInfinity : i % 7 == 0 ? float.NegativeInfinity : i * 0.5f).ToArray();
        var expectedPacked = new byte[35];
        var expectedAbsmax = new float[3];
        FourBitReference.Quantize(run, QuantType.Nf4, 32, expectedPacked, expectedAbsmax);
        Assert.Equal(float.PositiveInfinity, expectedAbsmax[0]);
        foreach (var isa in KernelIsaInfo.Available)
        {
            var packed = new byte[35];
            var absmax = new float[3];
            FourBitQuantizeKernel.Quantize(run, QuantType.Nf4, 32, packed, absmax, 0, 3, isa);
            BytesEqual(expectedPacked, packed, $"{isa} packed with infinities");
        }
    }
}
