using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Quantization;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Quantization;

/// <summary>Nf4Quantizer.Quantize(file, name, …) against reading the tensor and quantizing it, byte for byte.</summary>
public class StreamingQuantizeTests
{
    // Odd lengths (a pad nibble), lengths across the 2^18-element chunk boundary, a short last block, NaN and ±0 inside.
    private static readonly int[] Lengths = [1, 33, 4095, (1 << 18) - 64, (1 << 18) + 65, 3 * (1 << 18) + 4097];

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    public void Streaming_from_the_file_gives_the_bytes_of_quantizing_the_read_tensor(DType dtype)
    {
        using var folder = new TempFolder();
        string path = folder.File("weights.safetensors");
        var tensors = new Dictionary<string, Tensor>();
        foreach (int n in Lengths)
        {
            tensors[$"t{n}"] = Tensor.FromArray(Mixed(n, 64, seed: n, specials: false), n).To(dtype);
            tensors[$"s{n}"] = Tensor.FromArray(Mixed(n, 64, seed: n), n).To(dtype); // NaN, ±inf, ±0: no double quantization
        }
        Safetensors.Save(path, tensors);
        using var file = SafetensorsFile.Open(path);
        foreach (int n in Lengths)
        foreach (var (type, blockSize, doubleQuant) in new[] { (QuantType.Nf4, 64, true), (QuantType.Fp4, 4096, false), (QuantType.Nf4, 32, false) })
        {
        foreach (string prefix in doubleQuant ? new[] { "t" } : ["t", "s"])
        {
            string name = prefix + n, what = $"{dtype} {name} {type} B={blockSize} dq={doubleQuant}";
            var expected = Nf4Quantizer.Quantize(file.ReadTensor(name), type, blockSize, doubleQuant);
            var actual = Nf4Quantizer.Quantize(file, name, type, blockSize, doubleQuant);
            AssertSame(expected, actual, what);
        }
        }
    }

    [Theory]
    [InlineData(DType.F32, DType.BF16)]
    [InlineData(DType.F32, DType.F16)]
    [InlineData(DType.BF16, DType.F32)]
    [InlineData(DType.F16, DType.BF16)]
    public void StoreAs_rounds_to_that_dtype_first_as_converting_the_tensor_would(DType fileDType, DType storeAs)
    {
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        int n = (1 << 18) + 4097;
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray(Mixed(n, 64, seed: 5, specials: false), 1, n).To(fileDType) });
        using var file = SafetensorsFile.Open(path);
        var expected = Nf4Quantizer.Quantize(file.ReadTensor("w").To(storeAs), QuantType.Nf4, 64, doubleQuant: true);
        var actual = Nf4Quantizer.Quantize(file, "w", QuantType.Nf4, 64, doubleQuant: true, storeAs: storeAs);
        Assert.Equal(storeAs, actual.OriginalDType);
        Assert.Equal([1, n], actual.Shape);
        AssertSame(expected, actual, $"{fileDType} stored as {storeAs}");
    }

    [Fact]
    public void A_non_floating_tensor_or_a_bad_blocksize_is_refused_with_the_tensor_named()
    {
        using var folder = new TempFolder();
        string path = folder.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor>
        {
            ["ids"] = Tensor.Wrap(new int[] { 1, 2, 3, 4 }, 4),
            ["w"] = Tensor.FromArray(Mixed(128, 64, seed: 1), 2, 64),
        });
        using var file = SafetensorsFile.Open(path);
        var error = Assert.Throws<ArgumentException>(() => Nf4Quantizer.Quantize(file, "ids"));
        Assert.Contains("tensor 'ids' is I32", error.Message);
        error = Assert.Throws<ArgumentException>(() => Nf4Quantizer.Quantize(file, "w", blockSize: 100));
        Assert.Contains("Blocksize 100", error.Message);
        Assert.Contains("'w'", error.Message);
        Assert.Throws<KeyNotFoundException>(() => Nf4Quantizer.Quantize(file, "missing"));
    }

    private static void AssertSame(QuantizedTensor expected, QuantizedTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.OriginalDType, actual.OriginalDType);
        BytesEqual(expected.Packed, actual.Packed, what + " packed");
        Assert.Equal(expected.IsDoubleQuantized, actual.IsDoubleQuantized);
        if (expected.IsDoubleQuantized)
        {
            BytesEqual(expected.QuantizedAbsmax, actual.QuantizedAbsmax, what + " quantized absmax");
            BitEqual(expected.NestedAbsmax, actual.NestedAbsmax, what + " nested absmax");
            BitEqual([expected.Offset], [actual.Offset], what + " offset");
        }
        else
        {
            BitEqual(expected.Absmax, actual.Absmax, what + " absmax");
        }
    }
}
