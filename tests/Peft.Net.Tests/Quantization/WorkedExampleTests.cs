using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

/// <summary>nf4-format.md §8: NF4, B = 64, one partial block.</summary>
public class WorkedExampleTests
{
    private static uint Bits(float x) => BitConverter.SingleToUInt32Bits(x);

    [Fact]
    public void Example_A_codes_15_0_7_12()
    {
        var q = Nf4Quantizer.Quantize(Tensor.FromArray([1f, -1f, 0f, 0.5f], 4));
        Assert.Equal(new byte[] { 0xF0, 0x7C }, q.Packed);
        Assert.Equal(new[] { 1f }, q.Absmax);
        Assert.Equal(new[] { 1f, -1f, 0f, 0.44070982933044434f }, q.Dequantize().ToArray());
    }

    [Fact]
    public void Example_B_odd_length_gets_pad_nibble_7()
    {
        var q = Nf4Quantizer.Quantize(Tensor.FromArray([2f, -0.5f, 0.1f], 3));
        Assert.Equal(new byte[] { 0xF4, 0x87 }, q.Packed);
        Assert.Equal(new[] { 2f }, q.Absmax);
        var d = q.Dequantize().ToArray();
        Assert.Equal(Bits(2f), Bits(d[0]));
        Assert.Equal(Bits(-0.5688827633857727f), Bits(d[1]));
        Assert.Equal(Bits(0.15916059911251068f), Bits(d[2]));
    }

    [Fact]
    public void Example_C_zero_block_is_code_0_with_absmax_0_and_decodes_to_negative_zero()
    {
        var q = Nf4Quantizer.Quantize(Tensor.Zeros(4));
        Assert.Equal(new byte[] { 0x00, 0x00 }, q.Packed);
        Assert.Equal(0u, Bits(q.Absmax![0]));
        foreach (float v in q.Dequantize().ToArray()) Assert.Equal(0x80000000u, Bits(v));
    }

    [Fact]
    public void Zero_block_with_odd_length_pads_with_code_0_and_fp4_zero_block_decodes_to_positive_zero()
    {
        var nf4 = Nf4Quantizer.Quantize(Tensor.Zeros(3));
        Assert.Equal(new byte[] { 0x00, 0x00 }, nf4.Packed);
        var fp4 = Nf4Quantizer.Quantize(Tensor.Zeros(3), QuantType.Fp4);
        Assert.Equal(new byte[] { 0x00, 0x00 }, fp4.Packed);
        foreach (float v in fp4.Dequantize().ToArray()) Assert.Equal(0u, Bits(v));
    }

    [Fact]
    public void All_nan_blocks_keep_the_kernels_initial_absmax_of_minus_flt_max_unless_short()
    {
        var x = new float[64 + 10];
        Array.Fill(x, float.NaN);
        var q = Nf4Quantizer.Quantize(Tensor.FromArray(x, x.Length), QuantType.Nf4, 64);
        Assert.Equal(-float.MaxValue, q.Absmax![0]); // full block: every thread's fmaxf stays at −FLT_MAX
        Assert.Equal(0f, q.Absmax[1]);               // short block: the zero-padded slots count
        Assert.All(q.Packed, b => Assert.Equal(0, b)); // NaN·inv is NaN: code 0
        var d = q.Dequantize().ToArray();
        Assert.Equal(float.MaxValue, d[0]);          // −1 · −FLT_MAX
        Assert.Equal(0x80000000u, Bits(d[64]));      // −1 · 0
    }
}
