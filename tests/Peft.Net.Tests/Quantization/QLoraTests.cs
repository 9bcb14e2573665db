using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Tests.Quantization;

/// <summary>QLoRA end to end: LoRA over 4-bit layers equals LoRA over their dequantized weights; merging and saving.</summary>
public sealed class QLoraTests(ITestOutputHelper output) : IDisposable
{
    private const int In = 96, Out = 40, Rank = 8;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>A LoRA layer over a 4-bit base and one over a dense copy of the dequantized base, with the same A and B (B non-zero).</summary>
    private static (LoraLinear QLora, LoraLinear Dense, Nf4Linear Base) Pair(bool doubleQuant = true)
    {
        var random = new TensorRandom(8);
        var linear = new Linear(In, Out, bias: true, random);
        linear.ReplaceParameter("weight", Tensor.Normal([Out, In], 0, 0.02f, random));
        var quantized = Nf4Linear.FromLinear(linear, QuantType.Nf4, 64, doubleQuant);
        var dense = new Linear(In, Out, bias: true, random);
        quantized.GetDenseWeight().AsSpan().CopyTo(dense.Weight.AsSpan());
        linear.Bias!.AsSpan().CopyTo(dense.Bias!.AsSpan());

        var options = new LoraAdapterOptions(Rank, Alpha: 16);
        var qlora = new LoraLinear(quantized);
        var reference = new LoraLinear(dense);
        qlora.AddAdapter("default", options, new TensorRandom(1));
        reference.AddAdapter("default", options, new TensorRandom(1));
        Tensor.Normal([Out, Rank], 0, 0.01f, new TensorRandom(2)).AsSpan().CopyTo(qlora.GetLoraB("default").AsSpan());
        qlora.GetLoraA("default").AsSpan().CopyTo(reference.GetLoraA("default").AsSpan());
        qlora.GetLoraB("default").AsSpan().CopyTo(reference.GetLoraB("default").AsSpan());
        return (qlora, reference, quantized);
    }

    [Fact]
    public void Gradients_to_A_B_and_the_input_equal_lora_over_the_dequantized_weight()
    {
        var (qlora, reference, _) = Pair();
        var x = Tensor.Normal([2, 5, In], 0, 1, new TensorRandom(3));
        var upstream = Tensor.Normal([2, 5, Out], 0, 1, new TensorRandom(4));
        float[]? referenceInputGrad = null;
        foreach (var layer in new[] { reference, qlora })
        {
            var input = x.Detach().Clone();
            input.RequiresGrad = true;
            layer.ZeroGrad();
            var y = layer.Forward(input);
            y.Backward(upstream);
            if (ReferenceEquals(layer, reference))
            {
                referenceInputGrad = input.Grad!.ToArray();
                continue;
            }
            TensorAssert.CloseToScale(reference.Forward(x).ToArray(), y.ToArray(), 1e-5, "forward");
            TensorAssert.CloseToScale(reference.GetLoraA("default").Grad!.ToArray(), qlora.GetLoraA("default").Grad!.ToArray(), 1e-5, "dL/dA");
            TensorAssert.CloseToScale(reference.GetLoraB("default").Grad!.ToArray(), qlora.GetLoraB("default").Grad!.ToArray(), 1e-5, "dL/dB");
            TensorAssert.CloseToScale(referenceInputGrad!, input.Grad!.ToArray(), 1e-5, "dL/dx");
        }
        // Only A and B train: the 4-bit weight is no parameter and the base bias is frozen.
        Assert.Equal(["lora_A.default.weight", "lora_B.default.weight"], qlora.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name));
    }

    [Fact]
    public void Merging_into_the_4bit_base_requantizes_and_costs_one_quantization_step()
    {
        var (qlora, reference, quantized) = Pair();
        float[] baseBefore = quantized.GetDenseWeight().ToArray();
        reference.Merge();
        qlora.Merge();
        float[] floatMerge = ((ILinearLayer)reference.BaseLayer).GetDenseWeight().ToArray();
        float[] merged = quantized.GetDenseWeight().ToArray();
        TensorAssert.BitEqual(Nf4Quantizer.Quantize(Tensor.FromArray(floatMerge, Out, In), QuantType.Nf4, 64, doubleQuant: true).Dequantize().AsSpan(),
            merged, "4-bit merge = quantize(float merge)");
        double mean = 0, max = 0, deltaMean = 0;
        for (int i = 0; i < merged.Length; i++)
        {
            double e = Math.Abs(merged[i] - floatMerge[i]);
            mean += e / merged.Length;
            max = Math.Max(max, e);
            deltaMean += Math.Abs(floatMerge[i] - baseBefore[i]) / merged.Length;
        }
        output.WriteLine($"LoRA r={Rank} merged into NF4+DQ base [{Out}, {In}]: error vs float merge mean {mean:E3}, max {max:E3}; mean |ΔW| {deltaMean:E3}");
        double absmax = floatMerge.Max(Math.Abs);
        Assert.True(max <= 0.1520 * absmax * 1.02, $"max error {max} beyond half an NF4 step of the largest block ({absmax})");

        var x = Tensor.Normal([3, In], 0, 1, new TensorRandom(6));
        using (Tensor.NoGrad())
            TensorAssert.CloseToScale(reference.Forward(x).ToArray(), qlora.Forward(x).ToArray(), 0.1, "merged 4-bit layer vs merged dense layer");
    }

    [Fact]
    public void A_quantized_model_with_adapters_saves_its_4bit_base_in_the_bitsandbytes_layout()
    {
        var model = new TinyQuantModel(1);
        model.QuantizeNf4();
        model.ApplyLora(rank: 4, alpha: 8);
        Assert.IsType<Nf4Linear>(((LoraLinear)model.GetSubmodule("block.up")).BaseLayer);
        Assert.IsType<Linear>(model.GetSubmodule("lm_head")); // the head is neither quantized nor adapted
        var state = model.StateDict();
        Assert.Contains("block.up.base_layer.weight.quant_state.bitsandbytes__nf4", state.Keys);
        Assert.Contains("block.up.lora_A.default.weight", state.Keys);
        string path = _folder.File("qlora.safetensors");
        Safetensors.Save(path, state);

        var other = new TinyQuantModel(2);
        other.QuantizeNf4(doubleQuant: false);
        other.ApplyLora(rank: 4, alpha: 8);
        other.LoadStateDict(Safetensors.Load(path));
        var x = Tensor.Normal([2, TinyQuantModel.Dim], 0, 1, new TensorRandom(9));
        using (Tensor.NoGrad())
            TensorAssert.BitEqual(model.Forward(x).AsSpan(), other.Forward(x).AsSpan(), "reloaded QLoRA model");
    }
}
