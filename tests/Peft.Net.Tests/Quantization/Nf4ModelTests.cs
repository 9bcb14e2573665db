using System.Text.RegularExpressions;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;
using Xunit.Abstractions;

namespace Peft.Net.Tests.Quantization;

public sealed class Nf4ModelTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Tensor Input(int seed = 7) => Tensor.Normal([3, TinyQuantModel.Dim], 0, 1, new TensorRandom((ulong)seed));

    [Fact]
    public void QuantizeNf4_converts_every_linear_but_the_head_and_reports_the_bytes()
    {
        var model = new TinyQuantModel(1);
        var summary = model.QuantizeNf4();
        Assert.Equal(["block.up", "block.down"], summary.ConvertedLayers);
        Assert.Equal(["lm_head"], summary.SkippedLayers);
        Assert.IsType<Nf4Linear>(model.GetSubmodule("block.up"));
        Assert.IsType<Linear>(model.GetSubmodule("lm_head"));
        long n = 2L * TinyQuantModel.Dim * TinyQuantModel.Hidden;
        Assert.Equal(n, summary.Parameters);
        Assert.Equal(4 * n, summary.BytesBefore);
        Assert.Equal(((Nf4Linear)model.GetSubmodule("block.up")).Weight.StorageBytes * 2, summary.BytesAfter);
        // Only the biases and the head stay parameters; the 4-bit weights are not trainable.
        Assert.Equal(["embed.weight", "block.up.bias", "lm_head.weight"], model.NamedParameters().Select(p => p.Name));
    }

    [Fact]
    public void The_head_is_recognised_by_the_vocabulary_size_and_exclusions_are_kept()
    {
        var model = new TinyQuantModel(1, headName: "output");
        Assert.Equal(["output"], model.QuantizeNf4().SkippedLayers);

        var bySuffix = new TinyQuantModel(1);
        Assert.Equal(["block.up"], bySuffix.QuantizeNf4(exclude: ["down"]).ConvertedLayers);
        Assert.IsType<Linear>(bySuffix.GetSubmodule("block.down"));

        var byRegex = new TinyQuantModel(1);
        var summary = byRegex.QuantizeNf4(new Regex(@"\.up$"), QuantType.Fp4, 32, doubleQuant: false);
        Assert.Equal(["block.down"], summary.ConvertedLayers);
        var down = (Nf4Linear)byRegex.GetSubmodule("block.down");
        Assert.Equal((QuantType.Fp4, 32, false), (down.Weight.QuantType, down.Weight.BlockSize, down.Weight.IsDoubleQuantized));
        Assert.Throws<ArgumentException>(() => new TinyQuantModel(1).QuantizeNf4(blockSize: 48));
    }

    [Fact]
    public void The_state_dict_holds_the_bitsandbytes_layout_and_a_saved_model_loads_back_bit_exactly()
    {
        var model = new TinyQuantModel(1);
        model.QuantizeNf4();
        var state = model.StateDict();
        Assert.Equal(
            ["embed.weight", "block.up.bias", "block.up.weight", "block.up.weight.absmax", "block.up.weight.quant_map",
             "block.up.weight.nested_absmax", "block.up.weight.nested_quant_map", "block.up.weight.quant_state.bitsandbytes__nf4",
             "block.down.weight", "block.down.weight.absmax", "block.down.weight.quant_map", "block.down.weight.nested_absmax",
             "block.down.weight.nested_quant_map", "block.down.weight.quant_state.bitsandbytes__nf4", "lm_head.weight"],
            state.Keys);
        string path = _folder.File("model.safetensors");
        Safetensors.Save(path, state);
        using (var file = SafetensorsFile.Open(path))
            Assert.Equal(["block.up.weight", "block.down.weight"],
                Bnb4BitSerializer.FindQuantizedTensors(file.Entries.Select(e => e.Name)).Order().Reverse());

        var other = new TinyQuantModel(2);
        other.QuantizeNf4(QuantType.Fp4, 128, doubleQuant: false); // loading takes the file's format
        var result = other.LoadStateDict(Safetensors.Load(path));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        using (Tensor.NoGrad())
            TensorAssert.BitEqual(model.Forward(Input()).AsSpan(), other.Forward(Input()).AsSpan(), "reloaded quantized model");
        var up = (Nf4Linear)other.GetSubmodule("block.up");
        Assert.Equal((QuantType.Nf4, 64, true), (up.Weight.QuantType, up.Weight.BlockSize, up.Weight.IsDoubleQuantized));
    }

    [Fact]
    public void A_dense_checkpoint_loads_into_a_quantized_model_by_quantizing_it()
    {
        var dense = new TinyQuantModel(1);
        var state = dense.StateDict().ToDictionary(p => p.Key, p => p.Key == "block.down.weight" ? p.Value.To(DType.BF16) : p.Value);
        var model = new TinyQuantModel(2);
        model.QuantizeNf4(QuantType.Fp4, 128, doubleQuant: false);
        var result = model.LoadStateDict(state);
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        var reference = new TinyQuantModel(1);
        reference.LoadStateDict(state);
        reference.QuantizeNf4(QuantType.Fp4, 128, doubleQuant: false);
        using (Tensor.NoGrad())
            TensorAssert.BitEqual(reference.Forward(Input()).AsSpan(), model.Forward(Input()).AsSpan(), "dense checkpoint quantized on load");
        var down = (Nf4Linear)model.GetSubmodule("block.down");
        Assert.Equal((QuantType.Fp4, 128, DType.BF16), (down.Weight.QuantType, down.Weight.BlockSize, down.Weight.OriginalDType));
        state["block.up.weight"] = Tensor.Zeros(3, 3);
        Assert.Contains("does not match the layer's [96, 64]", Assert.Throws<ArgumentException>(() => model.LoadStateDict(state)).Message);
    }

    [Fact]
    public void Missing_unexpected_and_invalid_4bit_state_is_reported_and_leaves_the_model_unchanged()
    {
        var source = new TinyQuantModel(1);
        source.QuantizeNf4();
        var target = new TinyQuantModel(2);
        target.QuantizeNf4();

        var state = source.StateDict().Where(p => !p.Key.StartsWith("block.down.weight", StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value);
        state["block.extra"] = Tensor.Zeros(1);
        var error = Assert.Throws<ArgumentException>(() => target.LoadStateDict(state)).Message;
        Assert.Contains("missing keys [block.down.weight, block.down.weight.absmax", error);
        Assert.Contains("unexpected keys [block.extra]", error);
        var lenient = target.LoadStateDict(state, strict: false);
        Assert.Contains("block.down.weight.quant_state.bitsandbytes__nf4", lenient.MissingKeys);
        Assert.Equal(["block.extra"], lenient.UnexpectedKeys);

        Tensor before;
        using (Tensor.NoGrad()) before = target.Forward(Input());
        float[] embedBefore = target.StateDict()["embed.weight"].AsSpan().ToArray();

        var corrupt = source.StateDict().ToDictionary(p => p.Key, p => p.Value);
        corrupt["block.down.weight.absmax"] = Tensor.Wrap(new byte[5], 5);
        corrupt["embed.weight"] = Tensor.Zeros(TinyQuantModel.Vocabulary, TinyQuantModel.Dim);
        string corruptError = Assert.Throws<ArgumentException>(() => target.LoadStateDict(corrupt)).Message;
        Assert.Contains("'block.down'", corruptError);
        Assert.Contains("'weight.absmax': is U8 [5]", corruptError);

        var reshaped = source.StateDict().Where(p => !p.Key.StartsWith("block.down.weight", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, tensor) in Bnb4BitSerializer.ToTensors("block.down.weight", Nf4Quantizer.Quantize(Tensor.Zeros(TinyQuantModel.Hidden, 32))))
            reshaped[key] = tensor;
        Assert.Contains("does not match the layer's [64, 96]", Assert.Throws<ArgumentException>(() => target.LoadStateDict(reshaped)).Message);

        using (Tensor.NoGrad())
            TensorAssert.BitEqual(before.AsSpan(), target.Forward(Input()).AsSpan(), "after rejected loads");
        Assert.Equal(embedBefore, target.StateDict()["embed.weight"].AsSpan().ToArray());
    }

    [Fact]
    public void Bytes_per_parameter_of_a_real_mlp_layer()
    {
        // TinyLlama / SmolLM-1.7B MLP projection: [5632, 2048].
        var linear = new Linear(2048, 5632, bias: false, new TensorRandom(4));
        var layer = Nf4Linear.FromLinear(linear);
        long stored = Bnb4BitSerializer.ToTensors("w", layer.Weight).Sum(p => (long)p.Value.Count * p.Value.DType.SizeOf());
        double bytesPerParameter = (double)stored / linear.Weight.Count;
        output.WriteLine($"[5632, 2048] NF4 B=64 double quant: {stored} bytes stored (JSON included) for {linear.Weight.Count} parameters = " +
                         $"{bytesPerParameter:F5} bytes/param ({8 * bytesPerParameter:F4} bits); F32 is {4 / bytesPerParameter:F2}x, BF16 {2 / bytesPerParameter:F2}x larger");
        Assert.InRange(8 * bytesPerParameter, 4.1269, 4.1290); // nf4-format.md §7: 4.126953125 + fixed costs
    }
}
