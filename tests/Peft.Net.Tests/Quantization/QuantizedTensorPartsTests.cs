using Peft.Net.Core;
using Peft.Net.Quantization;

namespace Peft.Net.Tests.Quantization;

public class QuantizedTensorPartsTests
{
    private static readonly QuantizedTensor Plain = Nf4Quantizer.Quantize(Tensor.Arange(1000).Reshape(10, 100), QuantType.Nf4, 64);
    private static readonly QuantizedTensor Nested = Nf4Quantizer.Quantize(Tensor.Arange(1000).Reshape(10, 100), QuantType.Fp4, 32, doubleQuant: true);

    private static string Fails(Func<QuantizedTensor> make) => Assert.Throws<ArgumentException>(make).Message;

    [Fact]
    public void Round_trips_through_its_parts()
    {
        var plain = QuantizedTensor.FromParts(Plain.QuantType, Plain.BlockSize, Plain.Shape, DType.F32, Plain.Packed, Plain.Absmax, quantMap: Plain.QuantMap);
        Assert.Equal(Plain.Dequantize().ToArray(), plain.Dequantize().ToArray());
        var nested = QuantizedTensor.FromParts(Nested.QuantType, 32, Nested.Shape, DType.F32, Nested.Packed, null,
            Nested.QuantizedAbsmax, Nested.NestedAbsmax, Nested.NestedQuantMap, Nested.Offset, 256, Nested.QuantMap);
        Assert.Equal(Nested.Dequantize().ToArray(), nested.Dequantize().ToArray());
        Assert.Equal([10, 100], nested.Shape);
    }

    [Fact]
    public void Wrong_lengths_and_unknown_types_are_named_in_the_message()
    {
        int[] shape = [10, 100];
        Assert.Contains("Packed data", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, shape, DType.F32, new byte[499], Plain.Absmax)));
        Assert.Contains("needs ceil(n/2) = 505", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, [10, 101], DType.F32, Plain.Packed, Plain.Absmax)));
        Assert.Contains("Absmax", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, shape, DType.F32, Plain.Packed, new float[15])));
        Assert.Contains("has 16 values; the shape needs nb = ceil(n/B) = 8", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 128, shape, DType.F32, Plain.Packed, Plain.Absmax)));
        Assert.Contains("Unknown quant type 7", Fails(() => QuantizedTensor.FromParts((QuantType)7, 64, shape, DType.F32, Plain.Packed, Plain.Absmax)));
        Assert.Contains("Blocksize 48", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 48, shape, DType.F32, Plain.Packed, Plain.Absmax)));
        Assert.Contains("negative dimension", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, [-10, -100], DType.F32, Plain.Packed, Plain.Absmax)));
        Assert.Contains("not a floating type", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, shape, DType.U8, Plain.Packed, Plain.Absmax)));
        Assert.Contains("neither absmax", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, shape, DType.F32, Plain.Packed, null)));
        Assert.Contains("not the standard NF4 table", Fails(() => QuantizedTensor.FromParts(QuantType.Nf4, 64, shape, DType.F32, Plain.Packed, Plain.Absmax, quantMap: Fp4Reference.Table)));
    }

    [Fact]
    public void Inconsistent_nested_state_is_rejected()
    {
        int[] shape = [10, 100];
        var codes = Nested.QuantizedAbsmax!;
        var map = Nested.NestedQuantMap!;
        var nested = Nested.NestedAbsmax!;
        Assert.Contains("both float32 absmax and quantized", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, new float[32], codes, nested, map, 1f)));
        Assert.Contains("Quantized absmax", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, new byte[31], nested, map, 1f)));
        Assert.Contains("Nested absmax", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, codes, new float[2], map, 1f)));
        Assert.Contains("Nested quant map", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, codes, nested, new float[255], 1f)));
        var unsorted = (float[])map.Clone();
        unsorted[3] = float.NaN;
        Assert.Contains("entry 3", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, codes, nested, unsorted, 1f)));
        Assert.Contains("Nested blocksize 128", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, codes, nested, map, 1f, 128)));
        Assert.Contains("offset", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, null, codes, nested, map, float.NaN)));
        Assert.Contains("no quantized absmax", Fails(() => QuantizedTensor.FromParts(QuantType.Fp4, 32, shape, DType.F32, Nested.Packed, new float[32], null, nested, map)));
    }

    [Fact]
    public void Quantize_rejects_unsupported_inputs()
    {
        Assert.Contains("Blocksize 16", Assert.Throws<ArgumentException>(() => Nf4Quantizer.Quantize(Tensor.Zeros(64), blockSize: 16)).Message);
        Assert.Contains("Only F32, F16 and BF16", Assert.Throws<ArgumentException>(() => Nf4Quantizer.Quantize(Tensor.Empty(DType.I32, 4))).Message);
        Assert.Contains("Unknown quant type", Assert.Throws<ArgumentException>(() => Nf4Quantizer.Quantize(Tensor.Zeros(4), (QuantType)2)).Message);
    }

    [Fact]
    public void Decode_tile_decodes_exactly_the_requested_window()
    {
        var full = Plain.Dequantize().ToArray();
        var tile = new float[3 * 20];
        Array.Fill(tile, float.NaN);
        Plain.DecodeTile(2, 3, 37, 17, tile, 20);
        for (int r = 0; r < 3; r++)
        for (int c = 0; c < 20; c++)
            if (c < 17) Assert.Equal(full[(2 + r) * 100 + 37 + c], tile[r * 20 + c]);
            else Assert.True(float.IsNaN(tile[r * 20 + c]), "decoded outside the tile");
        Assert.Throws<ArgumentOutOfRangeException>(() => Plain.DecodeTile(9, 2, 0, 1, tile, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => Plain.DecodeTile(0, 1, 90, 11, tile, 20));
    }
}

public class QuantizedTensorEdgeTests
{
    [Fact]
    public void Empty_tensors_quantize_to_empty_parts_and_decode_to_empty_tensors()
    {
        foreach (bool doubleQuant in new[] { false, true })
        {
            var q = Nf4Quantizer.Quantize(Tensor.Zeros(0, 5), QuantType.Nf4, 64, doubleQuant);
            Assert.Empty(q.Packed);
            Assert.Equal(0, q.BlockCount);
            Assert.Equal([0, 5], q.Shape);
            Assert.Equal([0, 5], q.Dequantize().ShapeArray());
            Assert.Empty(q.GetAbsmax());
        }
    }

    [Fact]
    public void F16_input_quantizes_like_its_exact_float32_values_and_remembers_its_dtype()
    {
        var x = Tensor.FromArray(QuantTestData.Mixed(777, 64, 2, specials: false), 7, 111).To(DType.F16);
        var fromHalf = Nf4Quantizer.Quantize(x, QuantType.Fp4, 64, doubleQuant: true);
        var fromFloat = Nf4Quantizer.Quantize(x.To(DType.F32), QuantType.Fp4, 64, doubleQuant: true);
        Assert.Equal(DType.F16, fromHalf.OriginalDType);
        Assert.Equal(fromFloat.Packed, fromHalf.Packed);
        Assert.Equal(fromFloat.QuantizedAbsmax, fromHalf.QuantizedAbsmax);
        Assert.Equal(DType.F16, fromHalf.Dequantize(fromHalf.OriginalDType).DType);
    }

    [Fact]
    public void Concurrent_tile_decoding_gives_the_same_result_as_a_full_dequantize()
    {
        var q = Nf4Quantizer.Quantize(Tensor.Normal([300, 257], 0, 1, new TensorRandom(8)), QuantType.Nf4, 64, doubleQuant: true);
        var full = q.Dequantize().ToArray();
        var tiled = new float[full.Length];
        var tiles = (from r in Enumerable.Range(0, 10) from c in Enumerable.Range(0, 9) select (r * 30, c * 29)).ToArray();
        Parallel.ForEach(tiles, tile =>
        {
            int cols = Math.Min(29, 257 - tile.Item2);
            q.DecodeTile(tile.Item1, 30, tile.Item2, cols, tiled.AsSpan(tile.Item1 * 257 + tile.Item2), 257);
        });
        QuantTestData.BitEqual(full, tiled, "tiles decoded concurrently");
    }
}
