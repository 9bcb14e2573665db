using System.Security.Cryptography;
using System.Text.Json;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Tests;

/// <summary>
/// Files in bitsandbytes' 4-bit layout written by tests/fixtures/make_bnb_layout.py (an independent NumPy
/// implementation): ours must decode them to the script's values bit for bit, and `peft quantize` must write the same
/// tensors, byte for byte, for the same input.
/// </summary>
public sealed class BnbLayoutFixtureTests : IDisposable
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "fixtures", "bnb");
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Fixture(string name) => Path.Combine(Folder, name);

    private static JsonElement Config(string config)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Fixture("expected.json")));
        return document.RootElement.GetProperty("configs").GetProperty(config).Clone();
    }

    private static Dictionary<string, (string DType, int[] Shape, byte[] Bytes)> ReadAll(string path)
    {
        using var file = SafetensorsFile.Open(path);
        return file.Entries.ToDictionary(e => e.Name, e => (e.DTypeName, e.ShapeArray(), file.ReadBytes(e.Name)));
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Theory]
    [InlineData("nf4_dq")]
    [InlineData("fp4_b128")]
    public void Dequantizing_the_python_file_gives_the_scripts_values_bit_exactly(string config)
    {
        var expected = Config(config).GetProperty("tensors");
        var input = ReadAll(Fixture("input.safetensors"));
        foreach (var (dtypeOption, hashKey) in new[] { ((string?)null, "dequant_sha256"), ("f32", "dequant_f32_sha256") })
        {
            string output = _temp.File($"{config}-{dtypeOption}.safetensors");
            string[] args = dtypeOption is null
                ? ["dequantize", Fixture(config + ".safetensors"), "-o", output]
                : ["dequantize", Fixture(config + ".safetensors"), "-o", output, "--dtype", dtypeOption];
            var result = CliRunner.Run(args);
            Assert.True(result.ExitCode == 0, result.Error);
            var decoded = ReadAll(output);
            Assert.Equal(input.Keys.Order(), decoded.Keys.Order());
            foreach (var tensor in expected.EnumerateObject())
            {
                var (dtype, shape, bytes) = decoded[tensor.Name];
                Assert.Equal(input[tensor.Name].Shape, shape);
                Assert.Equal(dtypeOption is null ? input[tensor.Name].DType : "F32", dtype);
                Assert.True(tensor.Value.GetProperty(hashKey).GetString() == Sha256(bytes), $"{config} {tensor.Name} ({dtype}) decodes to other values than the script's");
            }
            foreach (var (name, original) in input)
                if (!expected.TryGetProperty(name, out _))
                {
                    // copied tensors: same dtype, shape and bytes
                    Assert.Equal(original.DType, decoded[name].DType);
                    Assert.Equal(original.Shape, decoded[name].Shape);
                    Assert.Equal(original.Bytes, decoded[name].Bytes);
                }
        }
    }

    [Theory]
    [InlineData("nf4_dq", new[] { "--double-quant" })]
    [InlineData("fp4_b128", new[] { "--quant-type", "fp4", "--blocksize", "128" })]
    public void Quantizing_the_input_writes_the_same_tensors_as_the_python_script(string config, string[] options)
    {
        string output = _temp.File(config + ".safetensors");
        var result = CliRunner.Run(["quantize", Fixture("input.safetensors"), "-o", output, .. options]);
        Assert.True(result.ExitCode == 0, result.Error);
        var ours = ReadAll(output);
        var theirs = ReadAll(Fixture(config + ".safetensors"));
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var (name, (dtype, shape, bytes)) in theirs)
        {
            Assert.Equal((name, dtype), (name, ours[name].DType));
            Assert.Equal(shape, ours[name].Shape);
            Assert.True(bytes.AsSpan().SequenceEqual(ours[name].Bytes), $"{config}: tensor '{name}' differs from the script's bytes");
        }
        using var file = SafetensorsFile.Open(output);
        Assert.Equal("pt", file.Metadata["format"]);
    }
}
