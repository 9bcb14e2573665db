using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Tests.Quantization;

public class Nf4LinearTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(QuantType.Nf4, 64, true)]
    [InlineData(QuantType.Fp4, 32, false)]
    [InlineData(QuantType.Nf4, 128, false)]
    public void Forward_is_x_times_the_dequantized_weight_transposed_plus_bias(QuantType type, int blockSize, bool doubleQuant)
    {
        var random = new TensorRandom(21);
        var linear = new Linear(70, 33, random: random); // 2310 weights: blocks span rows, short last block
        var layer = Nf4Linear.FromLinear(linear, type, blockSize, doubleQuant);
        Assert.Equal(70, layer.InFeatures);
        Assert.Equal(33, layer.OutFeatures);
        Assert.Same(linear.Bias, layer.Bias);
        var x = Tensor.Normal([2, 3, 70], 0, 1, random);
        var expected = Ops.Linear(x, layer.Weight.Dequantize(), linear.Bias);
        var actual = layer.Forward(x);
        Assert.Equal([2, 3, 33], actual.ShapeArray());
        TensorAssert.CloseToScale(expected.ToArray(), actual.ToArray(), 1e-6, "Nf4Linear forward");
        // and the quantization error of the layer is small relative to the F32 layer
        TensorAssert.CloseToScale(linear.Forward(x).ToArray(), actual.ToArray(), 0.1, "against the F32 layer");
    }

    [Fact]
    public void Gradients_reach_the_input_and_bias_but_not_the_weight()
    {
        var random = new TensorRandom(5);
        var layer = Nf4Linear.FromLinear(new Linear(40, 12, random: random), doubleQuant: true);
        Assert.True(layer.Bias!.RequiresGrad);
        Assert.Single(layer.Parameters()); // the 4-bit weight is not a parameter
        var x = Tensor.Normal([3, 40], 0, 1, random);
        x.RequiresGrad = true;
        GradCheck.Assert(inputs => layer.Forward(inputs[0]), [x, layer.Bias]);
    }

    [Fact]
    public void Frozen_bias_stays_frozen_and_bad_shapes_are_rejected()
    {
        var linear = new Linear(64, 8);
        linear.Bias!.RequiresGrad = false;
        Assert.False(Nf4Linear.FromLinear(linear).Bias!.RequiresGrad);
        var flat = Nf4Quantizer.Quantize(Tensor.Zeros(64));
        Assert.Contains("must be 2-D", Assert.Throws<ArgumentException>(() => new Nf4Linear(flat)).Message);
        var w = Nf4Quantizer.Quantize(Tensor.Zeros(8, 64));
        Assert.Contains("bias must be an F32 vector [8]", Assert.Throws<ArgumentException>(() => new Nf4Linear(w, Tensor.Zeros(7))).Message);
    }

    [Fact]
    public void A_4096_by_4096_double_quantized_layer_costs_at_most_4_13_bits_per_parameter()
    {
        var weight = Tensor.Normal([4096, 4096], 0, 0.02f, new TensorRandom(1));
        var q = Nf4Quantizer.Quantize(weight, QuantType.Nf4, 64, doubleQuant: true);
        long bytes = q.Packed.LongLength + q.QuantizedAbsmax!.LongLength + 4L * q.NestedAbsmax!.Length
                     + 4L * q.NestedQuantMap!.Length + 4L * q.QuantMap.Length;
        Assert.Equal(8_388_608 + 262_144 + 4_096 + 1_024 + 64, bytes); // nf4-format.md §7
        Assert.Equal(bytes, q.StorageBytes);
        double bitsPerParameter = 8.0 * bytes / q.ElementCount;
        output.WriteLine($"4096x4096 NF4 B=64 double quant: {bytes} bytes, {bitsPerParameter:F5} bits/param (bf16 is {2.0 * q.ElementCount / bytes:F2}x larger)");
        Assert.True(bitsPerParameter <= 4.13, $"{bitsPerParameter} bits/param");
        var plain = Nf4Quantizer.Quantize(weight, QuantType.Nf4, 64);
        output.WriteLine($"without double quant: {plain.BitsPerParameter:F5} bits/param");
        Assert.Equal(4.5, plain.BitsPerParameter, 3);
    }
}
