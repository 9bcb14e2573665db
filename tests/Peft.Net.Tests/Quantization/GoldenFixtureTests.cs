using System.Security.Cryptography;
using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Quantization;
using Xunit.Abstractions;
using static Peft.Net.Tests.Quantization.QuantTestData;

namespace Peft.Net.Tests.Quantization;

/// <summary>
/// Compares the production quantizer with tests/fixtures/nf4/*.json, written by make_nf4.py: an independent NumPy
/// implementation of the CUDA semantics. Every byte and float must match; the exact fraction is reported.
/// </summary>
public class GoldenFixtureTests(ITestOutputHelper output)
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var type in new[] { "nf4", "fp4" })
        {
            foreach (int b in BlockSizes) data.Add($"{type}_b{b}");
            data.Add($"{type}_b4096_large");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Quantizer_matches_the_independent_numpy_implementation_bit_for_bit(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "fixtures", "nf4", name + ".json");
        Assert.True(File.Exists(path), $"Fixture {path} is missing; regenerate it with tests/fixtures/make_nf4.py.");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var type = root.GetProperty("quant_type").GetString() == "nf4" ? QuantType.Nf4 : QuantType.Fp4;
        int blockSize = root.GetProperty("blocksize").GetInt32();
        int n = root.GetProperty("n").GetInt32();
        var x = FixtureInput.Make(root.GetProperty("seed").GetInt32(), blockSize, n, root.GetProperty("zero_tail").GetBoolean());
        var input = Tensor.FromArray(x, n);

        var plain = Nf4Quantizer.Quantize(input, type, blockSize);
        var dq = Nf4Quantizer.Quantize(input, type, blockSize, doubleQuant: true);
        var nested = root.GetProperty("double_quant");

        var report = new List<string>();
        bool exact = true;
        if (root.TryGetProperty("packed_b64", out var packedB64))
            exact &= Compare("packed", Convert.FromBase64String(packedB64.GetString()!), plain.Packed, report);
        else
            exact &= CompareHash("packed", root.GetProperty("packed_sha256").GetString()!, plain.Packed, report);
        exact &= Compare("packed (double quant)", plain.Packed, dq.Packed, report);
        exact &= Compare("absmax", Floats(root, "absmax_b64"), plain.Absmax!, report);
        exact &= CompareHash("dequantized", root.GetProperty("dequant_sha256").GetString()!, FloatBytes(plain.Dequantize().ToArray()), report);
        exact &= Compare("offset", [BitConverter.UInt32BitsToSingle(nested.GetProperty("offset_bits").GetUInt32())], [dq.Offset], report);
        exact &= Compare("absmax codes", Convert.FromBase64String(nested.GetProperty("absmax_codes_b64").GetString()!), dq.QuantizedAbsmax!, report);
        exact &= Compare("nested absmax", Floats(nested, "nested_absmax_b64"), dq.NestedAbsmax!, report);
        exact &= Compare("nested-dequantized absmax", Floats(nested, "absmax_f32_b64"), dq.GetAbsmax(), report);
        exact &= CompareHash("dequantized (double quant)", nested.GetProperty("dequant_sha256").GetString()!, FloatBytes(dq.Dequantize().ToArray()), report);

        output.WriteLine($"{name}: n = {n}, B = {blockSize}, nb = {plain.BlockCount}");
        foreach (var line in report) output.WriteLine("  " + line);
        Assert.True(exact, $"{name} is not bit-exact:\n{string.Join("\n", report)}");
    }

    private static float[] Floats(JsonElement e, string property)
    {
        var bytes = Convert.FromBase64String(e.GetProperty(property).GetString()!);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static byte[] FloatBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    private static bool Compare(string what, byte[] expected, byte[] actual, List<string> report)
    {
        int same = 0;
        for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++) if (expected[i] == actual[i]) same++;
        return Record(what, same, expected.Length, actual.Length, report);
    }

    private static bool Compare(string what, float[] expected, float[] actual, List<string> report)
    {
        int same = 0;
        for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++) if (Bits(expected[i]) == Bits(actual[i])) same++;
        return Record(what, same, expected.Length, actual.Length, report);
    }

    private static bool Record(string what, int same, int expectedLength, int actualLength, List<string> report)
    {
        bool ok = same == expectedLength && expectedLength == actualLength;
        double fraction = expectedLength == 0 ? 1 : (double)same / expectedLength;
        report.Add($"{what}: {same}/{expectedLength} bit-exact ({fraction:P4}){(expectedLength != actualLength ? $", length {actualLength}" : "")}");
        return ok;
    }

    private static bool CompareHash(string what, string expectedHex, byte[] actual, List<string> report)
    {
        string actualHex = Convert.ToHexStringLower(SHA256.HashData(actual));
        bool ok = actualHex == expectedHex;
        report.Add($"{what}: SHA-256 {(ok ? "equal" : $"differs ({actualHex} vs {expectedHex})")}");
        return ok;
    }
}
