using Peft.Net.Core;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Tests.Quantization;

/// <summary>Quantization error on N(0, 1) data, compared with bitsandbytes' own test figures (nf4-format.md §9).</summary>
public class RoundTripErrorTests(ITestOutputHelper output)
{
    [Fact]
    public void Mean_absolute_error_on_standard_normal_data_grows_with_blocksize_within_sane_bounds()
    {
        var x = Tensor.Normal([1024, 1024], 0, 1, new TensorRandom(42));
        var values = x.AsSpan().ToArray();
        double previous = 0;
        foreach (int blockSize in QuantTestData.BlockSizes)
        {
            var nf4 = MeanAbsError(values, Nf4Quantizer.Quantize(x, QuantType.Nf4, blockSize));
            var nf4Dq = MeanAbsError(values, Nf4Quantizer.Quantize(x, QuantType.Nf4, blockSize, doubleQuant: true));
            var fp4 = MeanAbsError(values, Nf4Quantizer.Quantize(x, QuantType.Fp4, blockSize));
            output.WriteLine($"B={blockSize,4}: NF4 {nf4:F6}  NF4+DQ {nf4Dq:F6}  FP4 {fp4:F6}");
            Assert.True(nf4 > previous, $"NF4 error should grow with the blocksize (B={blockSize}: {nf4})");
            Assert.True(fp4 > nf4, $"FP4 should be worse than NF4 on normal data (B={blockSize})");
            Assert.True(Math.Abs(nf4Dq - nf4) < 0.01 * nf4, $"double quantization should barely change the error (B={blockSize})");
            previous = nf4;
            if (blockSize == 64)
            {
                // bitsandbytes' test_4bit_quant, randn(1024, 1024), B = 64: NF4 0.072798, FP4 0.096543.
                Assert.InRange(nf4, 0.070, 0.076);
                Assert.InRange(fp4, 0.093, 0.100);
            }
            Assert.InRange(nf4, 0.05, 0.12);
        }
    }

    private static double MeanAbsError(float[] x, QuantizedTensor q)
    {
        var y = q.Dequantize().AsSpan();
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Abs(x[i] - y[i]);
        return sum / x.Length;
    }
}
