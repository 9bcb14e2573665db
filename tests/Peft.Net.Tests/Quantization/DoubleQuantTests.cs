using Peft.Net.Core;
using Peft.Net.Quantization;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Quantization;

public class DoubleQuantTests
{
    [Fact]
    public void Double_quantization_keeps_the_packed_codes_and_stores_8_bit_absmax_per_spec()
    {
        int n = 300 * 64 + 17; // 301 blocks: one full nested group of 256 and a short one of 45
        var x = Tensor.FromArray(Mixed(n, 64, 9, specials: false));
        var plain = Nf4Quantizer.Quantize(x, QuantType.Nf4, 64);
        var dq = Nf4Quantizer.Quantize(x, QuantType.Nf4, 64, doubleQuant: true);
        Assert.True(dq.IsDoubleQuantized);
        Assert.Null(dq.Absmax);
        Assert.Equal(plain.Packed, dq.Packed);
        Assert.Equal(301, dq.QuantizedAbsmax!.Length);
        Assert.Equal(2, dq.NestedAbsmax!.Length);
        Assert.Equal(256, dq.NestedBlockSize);
        BitEqual(DynamicMap8.Values, dq.NestedQuantMap, "nested map");

        // offset = fl32(fl32(Σ absmax) · fl32(1/nb)); c = fl32(absmax − offset); per group absmax2 = max|c|.
        var absmax = plain.Absmax!;
        double sum = 0;
        foreach (float a in absmax) sum += a;
        float offset = (float)sum * (1f / absmax.Length);
        Assert.Equal(Bits(offset), Bits(dq.Offset));
        for (int g = 0; g < 2; g++)
        {
            float max = 0;
            for (int j = g * 256; j < Math.Min(absmax.Length, (g + 1) * 256); j++) max = Math.Max(max, MathF.Abs(absmax[j] - offset));
            Assert.Equal(Bits(max), Bits(dq.NestedAbsmax[g]));
            float inv = 1f / max;
            for (int j = g * 256; j < Math.Min(absmax.Length, (g + 1) * 256); j++)
                Assert.Equal(DynamicMap8.Quantize(DynamicMap8.Values, (absmax[j] - offset) * inv), dq.QuantizedAbsmax[j]);
        }

        // Nested dequantization: two separately rounded operations, then the 4-bit decode with that absmax.
        var scales = dq.GetAbsmax();
        for (int j = 0; j < scales.Length; j++)
        {
            float product = dq.NestedQuantMap![dq.QuantizedAbsmax[j]] * dq.NestedAbsmax[j / 256];
            Assert.Equal(Bits(product + dq.Offset), Bits(scales[j]));
        }
        var expected = new float[n];
        FourBitReference.Dequantize(dq.Packed, scales, QuantType.Nf4, 64, 0, expected);
        BitEqual(expected, dq.Dequantize().ToArray(), "double-quantized dequant");
    }

    [Fact]
    public void Equal_absmax_everywhere_gives_nested_absmax_0_code_0_and_reconstructs_the_offset()
    {
        var x = Tensor.Full(0.25f, 64 * 10);
        var dq = Nf4Quantizer.Quantize(x, QuantType.Nf4, 64, doubleQuant: true);
        Assert.Equal(0.25f, dq.Offset);
        Assert.Equal(0f, dq.NestedAbsmax![0]);
        Assert.All(dq.QuantizedAbsmax!, c => Assert.Equal(0, c));
        Assert.All(dq.GetAbsmax(), a => Assert.Equal(0.25f, a));
        Assert.All(dq.Dequantize().ToArray(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Dequantize_to_half_types_rounds_the_float32_result_to_nearest_even()
    {
        var x = Tensor.FromArray(Mixed(1000, 64, 4, specials: false));
        var q = Nf4Quantizer.Quantize(x.To(DType.BF16), QuantType.Nf4, 64, doubleQuant: true);
        Assert.Equal(DType.BF16, q.OriginalDType);
        var f32 = q.Dequantize();
        var bf16 = q.Dequantize(DType.BF16);
        var f16 = q.Dequantize(DType.F16);
        Assert.Equal(DType.BF16, bf16.DType);
        BitEqual(f32.To(DType.BF16).To(DType.F32).ToArray(), bf16.To(DType.F32).ToArray(), "bf16");
        BitEqual(f32.To(DType.F16).To(DType.F32).ToArray(), f16.To(DType.F32).ToArray(), "f16");
        Assert.Throws<ArgumentException>(() => q.Dequantize(DType.U8));
    }
}
