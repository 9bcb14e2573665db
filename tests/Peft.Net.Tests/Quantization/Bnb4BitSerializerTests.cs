using System.Text;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

public sealed class Bnb4BitSerializerTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static Tensor Weight(int rows, int columns, int seed = 1) => Tensor.Normal([rows, columns], 0, 0.02f, new TensorRandom((ulong)seed));

    private static Dictionary<string, Tensor> Parts(string name, QuantizedTensor q) =>
        Bnb4BitSerializer.ToTensors(name, q).ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Writes_the_bitsandbytes_keys_dtypes_shapes_and_json()
    {
        var q = Nf4Quantizer.Quantize(Weight(33, 70), QuantType.Nf4, 64, doubleQuant: true); // n = 2310, nb = 37
        var parts = Bnb4BitSerializer.ToTensors("layer.weight", q);
        Assert.Equal(
            ["layer.weight", "layer.weight.absmax", "layer.weight.quant_map", "layer.weight.nested_absmax",
             "layer.weight.nested_quant_map", "layer.weight.quant_state.bitsandbytes__nf4"],
            parts.Select(p => p.Key));
        var t = parts.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(["U8 [1155, 1]", "U8 [37]", "F32 [16]", "F32 [1]", "F32 [256]", $"U8 [{t["layer.weight.quant_state.bitsandbytes__nf4"].Count}]"],
            parts.Select(p => $"{p.Value.DType} [{string.Join(", ", p.Value.ShapeArray())}]"));
        string json = Encoding.UTF8.GetString(t["layer.weight.quant_state.bitsandbytes__nf4"].AsSpan<byte>());
        string offset = PythonFloatFormat.Repr(q.Offset);
        Assert.Equal("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [33, 70], " +
                     $"\"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": {offset}}}", json);

        var plain = Nf4Quantizer.Quantize(Weight(8, 16).To(DType.BF16), QuantType.Fp4, 128);
        var p2 = Parts("w", plain);
        Assert.Equal(["w", "w.absmax", "w.quant_map", "w.quant_state.bitsandbytes__fp4"], p2.Keys);
        Assert.Equal(DType.F32, p2["w.absmax"].DType);
        Assert.Equal("{\"quant_type\": \"fp4\", \"blocksize\": 128, \"dtype\": \"bfloat16\", \"shape\": [8, 16]}",
            Encoding.UTF8.GetString(p2["w.quant_state.bitsandbytes__fp4"].AsSpan<byte>()));
    }

    [Theory]
    [InlineData(QuantType.Nf4, 64, true)]
    [InlineData(QuantType.Nf4, 32, false)]
    [InlineData(QuantType.Fp4, 256, true)]
    [InlineData(QuantType.Fp4, 4096, false)]
    public void Round_trips_through_a_safetensors_file_bit_exactly(QuantType type, int blockSize, bool doubleQuant)
    {
        var q = Nf4Quantizer.Quantize(Weight(300, 301, seed: blockSize).To(DType.F16), type, blockSize, doubleQuant); // odd n
        string path = _folder.File("q.safetensors");
        var tensors = Parts("model.proj.weight", q);
        tensors["model.proj.bias"] = Tensor.Zeros(300);
        Safetensors.Save(path, tensors);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["model.proj.weight"], Bnb4BitSerializer.FindQuantizedTensors(file.Entries.Select(e => e.Name)));
        var info = Bnb4BitSerializer.ReadInfo(file, "model.proj.weight");
        Assert.Equal((type, blockSize, DType.F16, doubleQuant), (info.QuantType, info.BlockSize, info.OriginalDType, info.IsDoubleQuantized));
        Assert.Equal([300, 301], info.Shape);
        Assert.Equal(doubleQuant ? 6 : 4, info.PartKeys.Count);
        var back = Bnb4BitSerializer.Read(file, "model.proj.weight");
        Assert.Equal(q.Packed, back.Packed);
        Assert.Equal(q.Offset, back.Offset);
        TensorAssert.BitEqual(q.Dequantize().AsSpan(), back.Dequantize().AsSpan(), "dequantized after a file round trip");
        Assert.Equal(DType.F16, back.Dequantize(back.OriginalDType).DType);
        var fromDict = Bnb4BitSerializer.FromTensors("model.proj.weight", tensors);
        TensorAssert.BitEqual(q.Dequantize().AsSpan(), fromDict.Dequantize().AsSpan(), "from a state dict");
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(4096, false)]
    public void Planned_specs_equal_the_written_tensors(int blockSize, bool doubleQuant)
    {
        var w = Weight(129, 65, seed: 9);
        var q = Nf4Quantizer.Quantize(w, QuantType.Nf4, blockSize, doubleQuant);
        float? offset = doubleQuant ? Nf4Quantizer.DoubleQuantOffset(w, blockSize) : null;
        if (doubleQuant) Assert.Equal(BitConverter.SingleToInt32Bits(q.Offset), BitConverter.SingleToInt32Bits(offset!.Value));
        var planned = Bnb4BitSerializer.PlanSpecs("x.weight", [129, 65], DType.F32, QuantType.Nf4, blockSize, offset);
        var actual = Bnb4BitSerializer.ToTensors("x.weight", q).Select(p => SafetensorsTensorSpec.Of(p.Key, p.Value)).ToList();
        Assert.Equal(actual.Select(s => (s.Name, s.DType, string.Join(",", s.Shape))), planned.Select(s => (s.Name, s.DType, string.Join(",", s.Shape))));
    }

    // Each corruption of a valid double-quantized layout, and the words the error must contain.
    public static TheoryData<string, string> Corruptions => new()
    {
        { "absmax-length", "w.absmax" },
        { "packed-length", "packed data" },
        { "unknown-type", "unknown quant type 'int4'" },
        { "json-shape", "packed data" },
        { "json-malformed", "not valid JSON" },
        { "json-type-mismatch", "quant_type \"fp4\" but its key says nf4" },
        { "json-blocksize", "blocksize 48" },
        { "json-dtype", "dtype \"int8\"" },
        { "json-partial-nested", "only some of nested" },
        { "quant-map", "not the standard NF4 table" },
        { "missing-nested", "w.nested_absmax': missing" },
        { "absmax-dtype", "expected U8 [11]" },
        { "no-state", "no quant_state key" },
    };

    [Theory]
    [MemberData(nameof(Corruptions))]
    public void Invalid_layouts_fail_with_the_file_and_tensor_named(string corruption, string expected)
    {
        var q = Nf4Quantizer.Quantize(Weight(10, 64), QuantType.Nf4, 64, doubleQuant: true); // nb = 10... n = 640, nb = 10
        var q2 = Nf4Quantizer.Quantize(Weight(11, 64), QuantType.Nf4, 64, doubleQuant: true); // nb = 11
        var t = Parts("w", q2);
        const string stateKey = "w.quant_state.bitsandbytes__nf4";
        string json = Encoding.UTF8.GetString(t[stateKey].AsSpan<byte>());
        void SetJson(string text) => t[stateKey] = Tensor.Wrap(Encoding.UTF8.GetBytes(text), Encoding.UTF8.GetByteCount(text));
        switch (corruption)
        {
            case "absmax-length": t["w.absmax"] = Tensor.Wrap(q.QuantizedAbsmax!, 10); break;
            case "packed-length": t["w"] = Tensor.Wrap(q.Packed, q.Packed.Length, 1); break;
            case "unknown-type": t["w.quant_state.bitsandbytes__int4"] = t[stateKey]; t.Remove(stateKey); break;
            case "json-shape": SetJson(json.Replace("[11, 64]", "[12, 64]")); break;
            case "json-malformed": SetJson(json[..^1]); break;
            case "json-type-mismatch": SetJson(json.Replace("\"nf4\"", "\"fp4\"")); break;
            case "json-blocksize": SetJson(json.Replace("\"blocksize\": 64", "\"blocksize\": 48")); break;
            case "json-dtype": SetJson(json.Replace("float32\", \"shape", "int8\", \"shape")); break;
            case "json-partial-nested": SetJson(json.Replace(", \"nested_dtype\": \"float32\"", "")); break;
            case "quant-map": t["w.quant_map"] = Tensor.Wrap(Nf4Reference.Table.Select(v => v * 2).ToArray(), 16); break;
            case "missing-nested": t.Remove("w.nested_absmax"); break;
            case "absmax-dtype": t["w.absmax"] = Tensor.Zeros(11); break;
            case "no-state": t.Remove(stateKey); break;
        }
        string path = _folder.File("bad.safetensors");
        Safetensors.Save(path, t);
        using var file = SafetensorsFile.Open(path);
        var error = Assert.Throws<SafetensorsFormatException>(() => Bnb4BitSerializer.Read(file, "w"));
        Assert.StartsWith(path + ": tensor 'w", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => Bnb4BitSerializer.FromTensors("w", t)).Message);
    }
}
