using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Models.Tests.Llama;

/// <summary>
/// FromPretrained(dir, quantization: …) quantizes each linear weight straight from the file; the result must be the very
/// bytes of loading the full model first and calling QuantizeNf4 with the same settings.
/// </summary>
public class StraightTo4BitLoadingTests
{
    /// <summary>
    /// Qwen2-style (q/k/v biases), untied, with MLP weights of 256 × 1100 = 281,600 elements: more than one 2^18-element
    /// streaming chunk, and not a multiple of the largest blocksize, so the last chunk ends in a short block.
    /// </summary>
    private static LlamaConfig Config() => new()
    {
        ModelType = "qwen2",
        HiddenSize = 256,
        IntermediateSize = 1100,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        NumKeyValueHeads = 2,
        VocabSize = 300,
        MaxPositionEmbeddings = 64,
        QkvBias = true,
        EosTokenIds = [2],
    };

    private static TempFolder Bf16Checkpoint(int seed)
    {
        var folder = new TempFolder();
        new LlamaForCausalLM(Config(), new TensorRandom((ulong)seed)).SavePretrained(folder.Path, DType.BF16);
        return folder;
    }

    public static readonly TheoryData<QuantType, int, bool> Settings = new()
    {
        { QuantType.Nf4, 64, true },
        { QuantType.Nf4, 64, false },
        { QuantType.Fp4, 128, true },
        { QuantType.Nf4, 4096, true },
        { QuantType.Fp4, 32, false },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void A_bf16_checkpoint_loaded_straight_to_4bit_has_the_bytes_of_load_then_quantize(QuantType type, int blockSize, bool doubleQuant)
    {
        using var folder = Bf16Checkpoint(seed: 21);
        var settings = new FourBitQuantization { QuantType = type, BlockSize = blockSize, DoubleQuant = doubleQuant };
        var straight = LlamaForCausalLM.FromPretrained(folder.Path, quantization: settings);
        var reference = LlamaForCausalLM.FromPretrained(folder.Path);
        var summary = reference.QuantizeNf4(settings);
        Assert.Equal(14, summary.ConvertedLayers.Count); // 7 per layer; lm_head kept
        AssertSameModel(reference, straight);
    }

    [Fact]
    public void Skipped_modules_and_a_requested_dtype_give_the_same_model_both_ways()
    {
        using var folder = Bf16Checkpoint(seed: 22);
        var settings = FourBitQuantization.QLoRA with { SkipModules = ["down_proj", "model.layers.0.self_attn.q_proj"] };
        // F32 widens the file's BF16 exactly; F16 differs from it, so the values round BF16 → F16 before quantizing.
        foreach (var dtype in new DType?[] { DType.F32, DType.F16 })
        {
            var straight = LlamaForCausalLM.FromPretrained(folder.Path, dtype, quantization: settings);
            var reference = LlamaForCausalLM.FromPretrained(folder.Path, dtype);
            reference.QuantizeNf4(settings);
            var modules = straight.NamedModules().ToDictionary(m => m.Name, m => m.Module);
            Assert.IsType<Linear>(modules["model.layers.1.mlp.down_proj"]);
            Assert.IsType<Linear>(modules["model.layers.0.self_attn.q_proj"]);
            Assert.Equal(dtype, Assert.IsType<Nf4Linear>(modules["model.layers.1.self_attn.q_proj"]).Weight.OriginalDType);
            AssertSameModel(reference, straight);
        }
    }

    [Fact]
    public void LoadIn4Bit_is_QLoRAs_settings_loaded_straight()
    {
        using var folder = Bf16Checkpoint(seed: 23);
        var reference = LlamaForCausalLM.FromPretrained(folder.Path);
        reference.QuantizeNf4(QuantType.Nf4, blockSize: 64, doubleQuant: true);
        AssertSameModel(reference, LlamaForCausalLM.FromPretrained(folder.Path, loadIn4Bit: true));
    }

    [Fact]
    public void Weights_already_in_the_bitsandbytes_layout_keep_their_bytes_and_the_others_are_quantized()
    {
        // Attention weights saved as FP4 (blocksize 128, no double quantization); the MLP in BF16.
        var source = new LlamaForCausalLM(Config(), new TensorRandom(24));
        using (Tensor.NoGrad())
            foreach (var (name, parameter) in source.NamedParameters().ToList())
                if (parameter.Rank == 2) source.ReplaceParameter(name, parameter.To(DType.BF16));
        source.QuantizeNf4(QuantType.Fp4, blockSize: 128, doubleQuant: false, exclude: ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]);
        using var folder = new TempFolder();
        source.Config.Save(folder.File("config.json"));
        Safetensors.Save(folder.File("model.safetensors"), source.StateDict());

        var loaded = LlamaForCausalLM.FromPretrained(folder.Path, quantization: FourBitQuantization.QLoRA);
        var modules = loaded.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var sourceModules = source.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        var k = Assert.IsType<Nf4Linear>(modules["model.layers.1.self_attn.k_proj"]);
        Assert.Equal(QuantType.Fp4, k.Weight.QuantType);
        Assert.Equal(((Nf4Linear)sourceModules["model.layers.1.self_attn.k_proj"]).Weight.Packed, k.Weight.Packed);
        var up = Assert.IsType<Nf4Linear>(modules["model.layers.1.mlp.up_proj"]);
        Assert.Equal(QuantType.Nf4, up.Weight.QuantType);
        Assert.True(up.Weight.IsDoubleQuantized);
        var expected = Nf4Quantizer.Quantize(((Linear)sourceModules["model.layers.1.mlp.up_proj"]).Weight, QuantType.Nf4, 64, doubleQuant: true);
        AssertSameWeight(expected, up.Weight, "model.layers.1.mlp.up_proj");
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void A_random_model_built_in_4bit_equals_the_float32_model_quantized_afterwards(QuantType type, int blockSize, bool doubleQuant)
    {
        var settings = new FourBitQuantization { QuantType = type, BlockSize = blockSize, DoubleQuant = doubleQuant, SkipModules = ["o_proj"] };
        var built = new LlamaForCausalLM(Config(), settings, new TensorRandom(31));
        var reference = new LlamaForCausalLM(Config(), new TensorRandom(31));
        reference.QuantizeNf4(settings);
        AssertSameModel(reference, built);
        Assert.IsType<Linear>(built.NamedModules().First(m => m.Name == "model.layers.1.self_attn.o_proj").Module);
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void A_random_model_built_in_4bit_with_16bit_unquantized_weights_equals_converting_the_float32_ones(DType dtype)
    {
        var settings = FourBitQuantization.QLoRA with { SkipModules = ["o_proj"] };
        var built = new LlamaForCausalLM(Config(), settings, new TensorRandom(32), unquantizedDType: dtype);
        var reference = new LlamaForCausalLM(Config(), new TensorRandom(32));
        reference.QuantizeNf4(settings);
        using (Tensor.NoGrad())
            foreach (var (name, weight) in reference.NamedParameters().Where(p => p.Parameter.Rank == 2).ToList())
                reference.ReplaceParameter(name, weight.To(dtype));
        AssertSameModel(reference, built);
        Assert.Equal(dtype, built.StateDict()["model.embed_tokens.weight"].DType);
        Assert.Equal(dtype, built.StateDict()["lm_head.weight"].DType);
        Assert.Equal(dtype, built.StateDict()["model.layers.0.self_attn.o_proj.weight"].DType);
    }

    [Fact]
    public void A_random_4bit_model_refuses_a_non_float_unquantized_dtype() =>
        Assert.Throws<ArgumentException>(() => new LlamaForCausalLM(Config(), FourBitQuantization.QLoRA, unquantizedDType: DType.I64));

    [Fact]
    public void Invalid_settings_are_refused_before_anything_is_read()
    {
        using var folder = Bf16Checkpoint(seed: 25);
        var error = Assert.Throws<ArgumentException>(() =>
            LlamaForCausalLM.FromPretrained(folder.Path, quantization: new FourBitQuantization { BlockSize = 48 }));
        Assert.Contains("Blocksize 48", error.Message);
    }

    internal static void AssertSameModel(LlamaForCausalLM expected, LlamaForCausalLM actual)
    {
        var expectedModules = expected.NamedModules().ToList();
        var actualModules = actual.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.Equal(expectedModules.Select(m => m.Name), actual.NamedModules().Select(m => m.Name));
        int quantized = 0;
        foreach (var (name, module) in expectedModules)
        {
            Assert.Equal(module.GetType(), actualModules[name].GetType());
            if (module is Nf4Linear q)
            {
                AssertSameWeight(q.Weight, ((Nf4Linear)actualModules[name]).Weight, name);
                quantized++;
            }
        }
        Assert.True(quantized > 0, "no layer was quantized");
        var expectedState = expected.StateDict();
        var actualState = actual.StateDict();
        Assert.Equal(expectedState.Keys, actualState.Keys);
        foreach (var (name, tensor) in expectedState)
        {
            var other = actualState[name];
            Assert.True(tensor.DType == other.DType, $"{name}: {tensor.DType} vs {other.DType}");
            Assert.True(tensor.Shape.SequenceEqual(other.Shape), $"{name}: shape {tensor.Describe()} vs {other.Describe()}");
            Assert.True(tensor.RequiresGrad == other.RequiresGrad, $"{name}: requires_grad {tensor.RequiresGrad} vs {other.RequiresGrad}");
            Assert.True(Bytes(tensor).SequenceEqual(Bytes(other)), $"{name}: the bytes differ");
        }
    }

    private static void AssertSameWeight(QuantizedTensor expected, QuantizedTensor actual, string name)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.QuantType, actual.QuantType);
        Assert.Equal(expected.BlockSize, actual.BlockSize);
        Assert.Equal(expected.OriginalDType, actual.OriginalDType);
        Assert.True(expected.Packed.AsSpan().SequenceEqual(actual.Packed), $"{name}: packed codes differ");
        Assert.Equal(expected.IsDoubleQuantized, actual.IsDoubleQuantized);
        if (expected.IsDoubleQuantized)
        {
            Assert.True(expected.QuantizedAbsmax!.AsSpan().SequenceEqual(actual.QuantizedAbsmax), $"{name}: quantized absmax differ");
            Assert.Equal(BitConverter.SingleToInt32Bits(expected.Offset), BitConverter.SingleToInt32Bits(actual.Offset));
            Assert.Equal(FloatBits(expected.NestedAbsmax!), FloatBits(actual.NestedAbsmax!));
            Assert.Equal(FloatBits(expected.NestedQuantMap!), FloatBits(actual.NestedQuantMap!));
        }
        else
        {
            Assert.Equal(FloatBits(expected.Absmax!), FloatBits(actual.Absmax!));
        }
        Assert.Equal(FloatBits(expected.QuantMap), FloatBits(actual.QuantMap));
    }

    private static int[] FloatBits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>The stored bytes of a tensor of any dtype.</summary>
    private static byte[] Bytes(Tensor tensor) => tensor.DType switch
    {
        DType.F32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.AsSpan<float>()).ToArray(),
        DType.F16 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.AsSpan<Half>()).ToArray(),
        DType.BF16 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.AsSpan<BFloat16>()).ToArray(),
        DType.U8 => tensor.AsSpan<byte>().ToArray(),
        _ => throw new NotSupportedException($"{tensor.Describe()}: unexpected dtype in a Llama state dict"),
    };
}
