using Peft.Net.Core;
using Peft.Net.Cuda.Tests.Testing;
using Peft.Net.Quantization;

namespace Peft.Net.Cuda.Tests;

/// <summary>
/// The dequantization kernels (kernels/dequant4.cu) compiled for the CPU by g++ and run for every thread index must
/// reproduce <see cref="QuantizedTensor.Dequantize"/> bit for bit: NF4 and FP4, every blocksize 32–4096, plain and
/// double-quantized absmax, float32/float16/bfloat16 outputs, odd lengths and partial last blocks.
/// </summary>
public sealed class HostEmulationDequantTests
{
    private static readonly DType[] OutputTypes = [DType.F32, DType.F16, DType.BF16];

    public static TheoryData<QuantType, int, bool> EveryFormat()
    {
        var data = new TheoryData<QuantType, int, bool>();
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
            foreach (int blockSize in QuantizedTensor.SupportedBlockSizes)
                foreach (bool nested in new[] { false, true })
                    data.Add(type, blockSize, nested);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryFormat))]
    public void QuantizerOutputDecodesBitExact(QuantType type, int blockSize, bool nested)
    {
        // Tails of every thread width (4 and 8 outputs), odd n (pad nibble), partial last blocks, and for the
        // nested kinds more than 256 blocks so the nested absmax index moves.
        var lengths = new List<int> { 1, 2, 3, 7, 8, 9, 15, 17, 31, 33, 255, blockSize - 1, blockSize + 1, 2 * blockSize + 7, 5 * blockSize + 3 };
        if (nested && blockSize <= 512)
            lengths.Add(257 * blockSize + 11);
        var tensors = lengths.Distinct().Select((n, i) =>
            TestWeights.Quantized([n], type, blockSize, nested, seed: (ulong)(blockSize * 131 + n + (nested ? 7 : 0) + (int)type * 17)));
        CompareWithReference(tensors.ToList(), $"{type} B={blockSize} nested={nested}");
    }

    [Fact]
    public void LargestBlocksizeWithManyNestedGroups()
    {
        // 300 blocks of 4096: two nested groups, the last one partial; odd n.
        var tensor = TestWeights.Quantized([300 * 4096 - 4095], QuantType.Nf4, 4096, doubleQuant: true, seed: 99);
        Assert.True(tensor.BlockCount > 256);
        CompareWithReference([tensor], "NF4 B=4096 nested, 300 blocks");
    }

    [Fact]
    public void MatrixShapesDecodeBitExact()
    {
        // Blocks run over the flat index across rows (K not a multiple of B).
        var tensors = new List<QuantizedTensor>
        {
            TestWeights.Quantized([37, 100], QuantType.Nf4, 64, doubleQuant: true, seed: 1),
            TestWeights.Quantized([11, 333], QuantType.Fp4, 128, doubleQuant: false, seed: 2),
            TestWeights.Quantized([2, 3, 45], QuantType.Nf4, 32, doubleQuant: false, seed: 3),
        };
        CompareWithReference(tensors, "matrices");
    }

    [Fact]
    public void RawPartsWithInfinityNaNAndRoundingTiesDecodeBitExact()
    {
        // Absmax values the quantizer never produces: ±inf and NaN products, float16 overflow ties (65520 rounds to
        // infinity, 65519.996 to 65504), float16 subnormal boundaries, float32 subnormal products.
        var tensors = new List<QuantizedTensor>();
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
            foreach (bool nested in new[] { false, true })
                tensors.Add(TestWeights.RawParts(nested ? 300 * 32 + 5 : 12 * 32 + 3, type, 32, nested, seed: (ulong)(type + 1) * (nested ? 5ul : 3ul)));
        CompareWithReference(tensors, "raw parts");
    }

    [Fact]
    public void EmptyTensorWritesNothing()
    {
        CompareWithReference([TestWeights.Quantized([0], QuantType.Nf4, 64, doubleQuant: false, seed: 0)], "empty");
    }

    private static void CompareWithReference(List<QuantizedTensor> tensors, string what)
    {
        using var dir = new TempDirectory("dequant");
        for (int i = 0; i < tensors.Count; i++)
            foreach (var dtype in OutputTypes)
                CaseFile.WriteDequantize(dir.File($"{i}-{dtype}.case"), tensors[i], dtype);
        HostEmulator.RunBatch(dir.Path);
        for (int i = 0; i < tensors.Count; i++)
            foreach (var dtype in OutputTypes)
            {
                uint[] expected = TestWeights.Bits(tensors[i].Dequantize(dtype));
                uint[] actual = TestWeights.OutputBits(dir.File($"{i}-{dtype}.out"), dtype);
                TestWeights.AssertBitEqual(expected, actual, dtype, $"{what}: {tensors[i].Describe()} n={tensors[i].ElementCount} → {dtype}");
            }
    }
}
