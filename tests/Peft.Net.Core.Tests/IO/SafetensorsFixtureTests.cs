using Peft.Net.Core.IO;

namespace Peft.Net.Core.Tests.IO;

/// <summary>
/// Compatibility with files laid out by the reference implementation: fixtures/safetensors/reference.safetensors
/// is written by tests/fixtures/make_safetensors.py (the reference serializer re-implemented with struct + json,
/// tensor bytes from PyTorch). The tensors below are the script's TENSORS, value for value.
/// </summary>
public sealed class SafetensorsFixtureTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "fixtures", "safetensors", "reference.safetensors");

    private static Dictionary<string, Tensor> ScriptTensors() => new()
    {
        ["f32.matrix"] = Tensor.Wrap(new[] { -1.5f, 0f, 0.25f, 3.75f, -0f, 1024.5f }, 2, 3),
        ["f32.scalar"] = Tensor.Wrap(new[] { 42.5f }),
        ["f32.empty"] = Tensor.Wrap(Array.Empty<float>(), 0, 4),
        ["f16.vector"] = Tensor.Wrap(new[] { (Half)1f, (Half)(-2.5f), (Half)(1f / 1024), (Half)65504f }, 4),
        ["bf16.matrix"] = Tensor.Wrap(new[] { 1f, -0.5f, 3f, 256f }.Select(BFloat16.FromSingle).ToArray(), 2, 2),
        ["u8.codes"] = Tensor.Wrap(new byte[] { 0, 1, 127, 128, 255 }, 5),
        ["i8.values"] = Tensor.Wrap(new sbyte[] { -128, -1, 0, 127 }, 4),
        ["i32.ids"] = Tensor.Wrap(new[] { int.MinValue, 0, int.MaxValue }, 3),
        ["i64.big"] = Tensor.Wrap(new[] { long.MinValue, long.MaxValue }, 2),
        ["bool.mask"] = Tensor.Wrap(new[] { true, false, true }, 3),
        ["odd \"name\"\t\u2713"] = Tensor.Wrap(new byte[] { 7 }, 1),
    };

    private static Dictionary<string, string> ScriptMetadata() => new() { ["format"] = "pt", ["source"] = "make_safetensors.py" };

    [Fact]
    public void ReadsEveryTensorOfTheReferenceFile()
    {
        using var file = SafetensorsFile.Open(FixturePath);
        var expected = ScriptTensors();
        Assert.Equal(ScriptMetadata(), file.Metadata);
        Assert.Equal(
            ["i64.big", "f32.empty", "f32.matrix", "f32.scalar", "i32.ids", "bf16.matrix", "f16.vector", "i8.values", "odd \"name\"\t\u2713", "u8.codes", "bool.mask"],
            file.Entries.Select(e => e.Name));
        foreach (var entry in file.Entries)
        {
            var want = expected[entry.Name];
            var got = file.ReadTensor(entry.Name);
            Assert.Equal(want.DType, got.DType);
            Assert.Equal(want.ShapeArray(), got.ShapeArray());
            Assert.Equal(SafetensorsRoundTripTests.BytesOf(want), SafetensorsRoundTripTests.BytesOf(got));
        }
        Assert.Equal([1f, -0.5f, 3f, 256f], file.ReadTensorAsFloat32("bf16.matrix").ToArray());
        Assert.Equal([1f, -2.5f, 1f / 1024, 65504f], file.ReadTensorAsFloat32("f16.vector").ToArray());
    }

    [Fact]
    public void SaveWritesTheReferenceFileByteForByte()
    {
        string path = Path.Combine(Path.GetTempPath(), $"peft-ref-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, ScriptTensors(), ScriptMetadata());
            Assert.Equal(File.ReadAllBytes(FixturePath), File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void HeaderMatchesTheReferenceSerializerForAKnownCase()
    {
        // The reference crate's own serialization test: one F32 tensor "attn.0" of shape [1, 2, 3] holding 0..5.
        string path = Path.Combine(Path.GetTempPath(), $"peft-attn-{Guid.NewGuid():N}.safetensors");
        try
        {
            Safetensors.Save(path, new Dictionary<string, Tensor> { ["attn.0"] = Tensor.FromArray([0f, 1, 2, 3, 4, 5], 1, 2, 3) });
            byte[] bytes = File.ReadAllBytes(path);
            const string header = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
            Assert.Equal(64, header.Length);
            Assert.Equal([64, 0, 0, 0, 0, 0, 0, 0], bytes[..8]);
            Assert.Equal(header, System.Text.Encoding.UTF8.GetString(bytes, 8, 64));
            Assert.Equal(8 + 64 + 24, bytes.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
