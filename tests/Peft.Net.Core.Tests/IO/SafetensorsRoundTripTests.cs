using System.Runtime.InteropServices;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.IO;

public sealed class SafetensorsRoundTripTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The raw bytes of a tensor's elements, whatever its dtype.</summary>
    internal static byte[] BytesOf(Tensor t) => t.DType switch
    {
        DType.F32 => MemoryMarshal.AsBytes(t.AsSpan<float>()).ToArray(),
        DType.F16 => MemoryMarshal.AsBytes(t.AsSpan<Half>()).ToArray(),
        DType.BF16 => MemoryMarshal.AsBytes(t.AsSpan<BFloat16>()).ToArray(),
        DType.U8 => t.AsSpan<byte>().ToArray(),
        DType.I8 => MemoryMarshal.AsBytes(t.AsSpan<sbyte>()).ToArray(),
        DType.I32 => MemoryMarshal.AsBytes(t.AsSpan<int>()).ToArray(),
        DType.I64 => MemoryMarshal.AsBytes(t.AsSpan<long>()).ToArray(),
        DType.Bool => MemoryMarshal.AsBytes(t.AsSpan<bool>()).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>A tensor of <paramref name="dtype"/> with distinct, dtype-specific values (some negative, some extreme).</summary>
    internal static Tensor Sample(DType dtype, int[] shape, int seed)
    {
        var t = Tensor.Empty(dtype, shape);
        var random = new Random(seed);
        for (int i = 0; i < t.Count; i++)
        {
            double v = (random.NextDouble() - 0.5) * 200;
            switch (dtype)
            {
                case DType.F32: t.AsSpan<float>()[i] = i == 0 ? float.NegativeInfinity : (float)v; break;
                case DType.F16: t.AsSpan<Half>()[i] = i == 0 ? Half.MaxValue : (Half)v; break;
                case DType.BF16: t.AsSpan<BFloat16>()[i] = BFloat16.FromSingle(i == 0 ? float.NaN : (float)v); break;
                case DType.U8: t.AsSpan<byte>()[i] = (byte)random.Next(256); break;
                case DType.I8: t.AsSpan<sbyte>()[i] = (sbyte)random.Next(-128, 128); break;
                case DType.I32: t.AsSpan<int>()[i] = i == 0 ? int.MinValue : random.Next(int.MinValue, int.MaxValue); break;
                case DType.I64: t.AsSpan<long>()[i] = i == 0 ? long.MaxValue : random.NextInt64(long.MinValue, long.MaxValue); break;
                case DType.Bool: t.AsSpan<bool>()[i] = random.Next(2) == 1; break;
            }
        }
        return t;
    }

    public static TheoryData<DType, int[]> EveryDTypeAndShape()
    {
        var data = new TheoryData<DType, int[]>();
        foreach (var dtype in Enum.GetValues<DType>())
            foreach (var shape in new[] { new[] { 2, 3 }, Array.Empty<int>(), new[] { 0 }, new[] { 3, 0, 2 }, new[] { 1, 1, 17 }, new[] { 257 } })
                data.Add(dtype, shape);
        return data;
    }

    [Theory]
    [MemberData(nameof(EveryDTypeAndShape))]
    public void EveryDTypeRoundTripsBitExactly(DType dtype, int[] shape)
    {
        var original = Sample(dtype, shape, seed: shape.Length * 31 + (int)dtype);
        string path = _folder.File("t.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = original });

        using var file = SafetensorsFile.Open(path);
        var entry = Assert.Single(file.Entries);
        Assert.Equal("x", entry.Name);
        Assert.Equal(dtype.ToSafetensorsName(), entry.DTypeName);
        Assert.True(entry.IsSupported);
        Assert.Equal(dtype, entry.DType);
        Assert.Equal(shape, entry.ShapeArray());
        Assert.Equal(original.Count, entry.ElementCount);
        Assert.Equal((long)original.Count * dtype.SizeOf(), entry.ByteLength);
        Assert.Equal(0, file.DataOffset % 8);

        var read = file.ReadTensor("x");
        Assert.Equal(dtype, read.DType);
        Assert.Equal(shape, read.ShapeArray());
        Assert.Equal("x", read.Name);
        Assert.Equal(BytesOf(original), BytesOf(read));
        Assert.Equal(BytesOf(original), file.ReadBytes("x"));
    }

    [Fact]
    public void ManyTensorsAndMetadataRoundTrip()
    {
        var tensors = new Dictionary<string, Tensor>();
        int seed = 0;
        foreach (var dtype in Enum.GetValues<DType>())
        {
            tensors[$"model.{dtype}.weight"] = Sample(dtype, [4, 5], seed++);
            tensors[$"model.{dtype}.scalar"] = Sample(dtype, [], seed++);
            tensors[$"model.{dtype}.empty"] = Sample(dtype, [0, 5], seed++);
        }
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcødé \"quoted\"\n\ttabbed \u0001" };
        string path = _folder.File("many.safetensors");
        Safetensors.Save(path, tensors, metadata);

        using (var file = SafetensorsFile.Open(path))
            Assert.Equal(metadata, file.Metadata);
        var loaded = Safetensors.Load(path);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, tensor) in tensors)
        {
            Assert.Equal(tensor.DType, loaded[name].DType);
            Assert.Equal(tensor.ShapeArray(), loaded[name].ShapeArray());
            Assert.Equal(BytesOf(tensor), BytesOf(loaded[name]));
        }
    }

    [Fact]
    public void SaveOrdersTensorsLikeTheReference()
    {
        var tensors = new Dictionary<string, Tensor>
        {
            ["b"] = Tensor.Zeros(1), ["mask"] = Tensor.Empty(DType.Bool, 1), ["a"] = Tensor.Zeros(1),
            ["half"] = Tensor.Empty(DType.F16, 1), ["ids"] = Tensor.Empty(DType.I64, 1), ["codes"] = Tensor.Empty(DType.U8, 2),
        };
        string path = _folder.File("order.safetensors");
        Safetensors.Save(path, tensors);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["ids", "a", "b", "half", "codes", "mask"], file.Entries.Select(e => e.Name));
        Assert.Empty(file.Metadata);
    }

    [Fact]
    public void EntriesFollowTheDataOrderEvenWhenTheHeaderListsThemOtherwise()
    {
        // Older writers ordered header keys by name; the reference reader sorts by offset.
        string path = RawSafetensors.Write(_folder.File("unsorted.safetensors"),
            "{\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}," +
            "\"__metadata__\":{\"k\":\"v\"}}", 6);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal(["z", "a"], file.Entries.Select(e => e.Name));
        Assert.Equal(2, file.GetEntry("a").DataBegin);
        Assert.Equal("v", file.Metadata["k"]);
    }

    [Fact]
    public void EmptyFileWithNoTensors()
    {
        string path = _folder.File("empty.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], File.ReadAllBytes(path));
        using var file = SafetensorsFile.Open(path);
        Assert.Empty(file.Entries);
        Assert.Empty(Safetensors.Load(path));
    }

    [Theory]
    [InlineData(DType.F16)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F32)]
    public void ReadTensorAsFloat32WidensExactly(DType dtype)
    {
        var original = Sample(dtype, [3, 7], seed: 5);
        string path = _folder.File("f.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = original });
        using var file = SafetensorsFile.Open(path);
        var widened = file.ReadTensorAsFloat32("w");
        Assert.Equal(DType.F32, widened.DType);
        Assert.Equal([3, 7], widened.ShapeArray());
        TensorAssert.BitEqual(original.To(DType.F32).AsSpan(), widened.AsSpan(), "widened");
    }

    [Fact]
    public void ReadTensorAsFloat32RejectsIntegers()
    {
        string path = _folder.File("i.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["ids"] = Tensor.Empty(DType.I32, 2) });
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<NotSupportedException>(() => file.ReadTensorAsFloat32("ids"));
        Assert.Contains("tensor 'ids' is I32", e.Message);
    }

    [Fact]
    public void UnsupportedDTypesAreListedButNotLoaded()
    {
        string path = RawSafetensors.Write(_folder.File("f64.safetensors"),
            "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},\"h\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[16,18]}}", 18);
        using var file = SafetensorsFile.Open(path);
        var d = file.GetEntry("d");
        Assert.False(d.IsSupported);
        Assert.Equal("F64", d.DTypeName);
        Assert.Equal(16, d.ByteLength);
        Assert.Contains("dtype F64, which Peft.Net cannot load", Assert.Throws<NotSupportedException>(() => d.DType).Message);
        var e = Assert.Throws<NotSupportedException>(() => file.ReadTensor("d"));
        Assert.Equal($"{path}: tensor 'd' has dtype F64, which Peft.Net cannot load (supported: BOOL, U8, I8, F16, BF16, I32, F32, I64).", e.Message);
        Assert.Throws<NotSupportedException>(() => file.ReadTensor("h"));
        Assert.Equal(new byte[16], file.ReadBytes("d"));
        Assert.Throws<NotSupportedException>(() => Safetensors.Load(path));
    }

    [Fact]
    public void CopyBytesReadsAnyRangeAndChecksBounds()
    {
        var t = Sample(DType.U8, [100], seed: 9);
        string path = _folder.File("c.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["c"] = t });
        using var file = SafetensorsFile.Open(path);
        var part = new byte[10];
        file.CopyBytes("c", 90, part);
        Assert.Equal(t.AsSpan<byte>()[90..].ToArray(), part);
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CopyBytes("c", 91, part));
        Assert.Throws<ArgumentOutOfRangeException>(() => file.CopyBytes("c", -1, part));
        var missing = Assert.Throws<KeyNotFoundException>(() => file.ReadTensor("nope"));
        Assert.Contains("no tensor named 'nope'", missing.Message);
        Assert.False(file.Contains("nope"));
        Assert.True(file.TryGetEntry("c", out var entry) && entry.ElementCount == 100);
    }

    [Fact]
    public void TensorsOutliveTheFileAndReadsFailAfterDispose()
    {
        var t = Sample(DType.F32, [8], seed: 2);
        string path = _folder.File("d.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["t"] = t });
        var file = SafetensorsFile.Open(path);
        var read = file.ReadTensor("t");
        file.Dispose();
        file.Dispose();
        Assert.Equal(BytesOf(t), BytesOf(read));
        Assert.Throws<ObjectDisposedException>(() => file.ReadTensor("t"));
    }

    [Fact]
    public void ViewsAreSavedWithTheirOwnElementsOnly()
    {
        var full = Tensor.FromArray([0f, 1, 2, 3, 4, 5, 6, 7], 4, 2);
        var rows = full.Slice(1, 2);
        string path = _folder.File("v.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["rows"] = rows });
        Assert.Equal([2f, 3, 4, 5], Safetensors.Load(path)["rows"].ToArray());
    }
}
