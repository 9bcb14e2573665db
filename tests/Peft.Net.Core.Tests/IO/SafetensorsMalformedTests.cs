using System.Text;
using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.IO;

/// <summary>Every way a header or layout can be wrong gives a <see cref="SafetensorsFormatException"/> naming the file, tensor and problem.</summary>
public sealed class SafetensorsMalformedTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private const string A4 = "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";

    private SafetensorsFormatException Rejects(byte[] file, string expectedProblem, string? tensor = null)
    {
        string path = _folder.File("bad.safetensors");
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.Contains(expectedProblem, e.Message);
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Equal(path, e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        if (tensor is not null)
            Assert.Contains($"tensor '{tensor}'", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private SafetensorsFormatException Rejects(string header, int dataLength, string expectedProblem, string? tensor = null) =>
        Rejects(RawSafetensors.Build(header, dataLength), expectedProblem, tensor);

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(7)]
    public void FileShorterThanTheLengthPrefix(int length) =>
        Rejects(new byte[length], $"file is {length} bytes long, shorter than the 8-byte header length prefix");

    [Fact]
    public void HeaderLengthPastTheEndOfTheFile() =>
        Rejects(RawSafetensors.Build(Encoding.UTF8.GetBytes("{}"), [], declaredLength: 1000), "header length 1000 runs past the end of the 10-byte file");

    [Theory]
    [InlineData(100_000_001UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)]
    public void HugeHeaderLengthIsRejectedWithoutAllocating(ulong declared) =>
        Rejects(RawSafetensors.Build(Encoding.UTF8.GetBytes("{}"), [], declaredLength: declared), $"header length {declared} exceeds the 100000000-byte limit");

    [Theory]
    [InlineData("{\"a\":")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",}}")]
    [InlineData("{'a':1}")]
    [InlineData("{} trailing")]
    [InlineData("")]
    public void InvalidJson(string header) => Rejects(header, 0, "header is not valid JSON");

    [Fact]
    public void HeaderThatIsNotUtf8()
    {
        byte[] header = [.. "{\"a"u8, 0xFF, 0xFE, .. "\":{}}"u8];
        Rejects(RawSafetensors.Build(header, []), "header is not valid UTF-8");
    }

    [Theory]
    [InlineData("[1,2]", "an array")]
    [InlineData("\"text\"", "a string")]
    [InlineData("42", "a number")]
    [InlineData("null", "null")]
    public void HeaderThatIsNotAnObject(string header, string found) =>
        Rejects(header, 0, $"header is not a JSON object (starts with {found})");

    [Fact]
    public void ExcessiveNesting()
    {
        string deep = new string('[', 10_000) + new string(']', 10_000);
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":" + deep + "}}", 4,
            $"header JSON nests deeper than the maximum depth of {SafetensorsHeader.MaxDepth}");
    }

    [Fact]
    public void ModerateNestingInAnUnknownFieldIsIgnoredLikeTheReference()
    {
        string path = RawSafetensors.Write(_folder.File("ok.safetensors"),
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":{\"x\":[[1],[2]]}}}", 4);
        using var file = SafetensorsFile.Open(path);
        Assert.Equal("a", Assert.Single(file.Entries).Name);
    }

    [Theory]
    [InlineData("F12")]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("")]
    public void UnknownDType(string dtype) =>
        Rejects($"{{\"a\":{{\"dtype\":\"{dtype}\",\"shape\":[1],\"data_offsets\":[0,4]}}}}", 4, $"unknown dtype '{dtype}'", "a");

    [Fact]
    public void OffsetsEndingPastTheDataBuffer() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "data_offsets [0, 8] end past the data buffer of 4 bytes", "a");

    [Fact]
    public void OffsetsThatBeginAfterTheyEnd() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4, "data_offsets [4, 0] begin after they end", "a");

    [Fact]
    public void OverlappingRanges() =>
        Rejects("{" + A4 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[2,10]}}", 10,
            "data_offsets [2, 10] overlap tensor 'a' [0, 4]", "b");

    [Fact]
    public void EmptyTensorInsideAnotherTensorOverlaps() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
            "overlap tensor 'a'", "e");

    [Fact]
    public void GapBetweenTensors() =>
        Rejects("{" + A4 + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12,
            "leave bytes [4, 8) unused after tensor 'a'; safetensors requires contiguous data", "b");

    [Fact]
    public void DataThatDoesNotStartAtZero() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
            "leave bytes [0, 4) unused at the start of the data buffer", "a");

    [Fact]
    public void TrailingBytesAfterTheLastTensor() =>
        Rejects("{" + A4 + "}", 6, "data buffer holds 6 bytes but the tensors cover only 4; 2 trailing bytes");

    [Theory]
    [InlineData("F32", "[3]", 8, "span 8 bytes but shape [3] of F32 needs 12")]
    [InlineData("BF16", "[2,2]", 16, "span 16 bytes but shape [2, 2] of BF16 needs 8")]
    [InlineData("I64", "[]", 4, "span 4 bytes but shape [] of I64 needs 8")]
    [InlineData("U8", "[0]", 1, "span 1 bytes but shape [0] of U8 needs 0")]
    public void ByteLengthThatDisagreesWithShapeAndDType(string dtype, string shape, int bytes, string problem) =>
        Rejects($"{{\"a\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":[0,{bytes}]}}}}", bytes, problem, "a");

    [Fact]
    public void SubByteDTypeWithAFractionalByteCount() =>
        Rejects("{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "shape [3] of F4 (4-bit) is not a whole number of bytes", "a");

    [Fact]
    public void DuplicateTensorNames() =>
        Rejects("{" + A4 + "," + A4.Replace("[0,4]", "[4,8]") + "}", 8, "duplicate key 'a' in the header", "a");

    [Fact]
    public void DuplicateNamesSpelledWithEscapes() =>
        Rejects("{" + A4 + ",\"\\u0061\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate key 'a'", "a");

    [Fact]
    public void DuplicateMetadataObjects() =>
        Rejects("{\"__metadata__\":{},\"__metadata__\":{}}", 0, "duplicate key '__metadata__'");

    [Fact]
    public void DuplicateMetadataKeys() =>
        Rejects("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate metadata key 'k'");

    [Fact]
    public void DuplicateFieldInAnEntry() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "duplicate field 'dtype'", "a");

    [Theory]
    [InlineData("dtype", "{\"shape\":[1],\"data_offsets\":[0,4]}")]
    [InlineData("shape", "{\"dtype\":\"F32\",\"data_offsets\":[0,4]}")]
    [InlineData("data_offsets", "{\"dtype\":\"F32\",\"shape\":[1]}")]
    public void MissingField(string field, string entry) =>
        Rejects($"{{\"a\":{entry}}}", 4, $"entry is missing the '{field}' field", "a");

    [Theory]
    [InlineData("[1,2]", "entry must be an object, not an array")]
    [InlineData("\"F32\"", "entry must be an object, not a string")]
    [InlineData("{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}", "'dtype' must be a string, not a number")]
    [InlineData("{\"dtype\":null,\"shape\":[1],\"data_offsets\":[0,4]}", "'dtype' must be a string, not null")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}", "'shape' must be an array of integers, not a number")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}", "'shape' must hold integers, found a string")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[[1]],\"data_offsets\":[0,4]}", "'shape' must hold integers, found an array")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}", "'shape' value 1.0 is not an integer")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}", "'shape' value 1e0 is not an integer")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}", "'shape' value -1 is negative")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"begin\":0}}", "'data_offsets' must be an array of integers, not an object")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}", "'data_offsets' must hold 2 integers [begin, end], not 1")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}", "'data_offsets' must hold 2 integers [begin, end], not 3")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,\"4\"]}", "'data_offsets' must hold integers, found a string")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,4]}", "'data_offsets' value -4 is negative")]
    [InlineData("{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551620]}", "'data_offsets' value 18446744073709551620 is not an integer")]
    public void FieldOfTheWrongType(string entry, string problem) =>
        Rejects($"{{\"a\":{entry}}}", 4, problem, "a");

    [Fact]
    public void DimensionLargerThanAnInt() =>
        Rejects("{\"a\":{\"dtype\":\"U8\",\"shape\":[4294967296],\"data_offsets\":[0,4]}}", 4, "has a dimension larger than 2147483647", "a");

    [Fact]
    public void ShapeWhoseElementCountOverflows() =>
        Rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,4]}}", 4,
            "shape [2147483647, 2147483647, 2147483647] overflows", "a");

    [Theory]
    [InlineData("{\"__metadata__\":{\"format\":1}}", "metadata value for 'format' must be a string, not a number")]
    [InlineData("{\"__metadata__\":{\"format\":{\"x\":\"y\"}}}", "metadata value for 'format' must be a string, not an object")]
    [InlineData("{\"__metadata__\":{\"format\":null}}", "metadata value for 'format' must be a string, not null")]
    [InlineData("{\"__metadata__\":[\"pt\"]}", "'__metadata__' must be an object of strings, not an array")]
    public void MetadataThatIsNotAMapOfStrings(string header, string problem) => Rejects(header, 0, problem);

    [Fact]
    public void BoolTensorWithAByteOtherThanZeroOrOne()
    {
        byte[] file = RawSafetensors.Build(Encoding.UTF8.GetBytes("{\"m\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}"), [1, 2, 0]);
        string path = _folder.File("bool.safetensors");
        File.WriteAllBytes(path, file);
        using var reader = SafetensorsFile.Open(path);
        var e = Assert.Throws<SafetensorsFormatException>(() => reader.ReadTensor("m"));
        Assert.Equal($"{path}: tensor 'm': BOOL element 1 is 2, not 0 or 1", e.Message);
    }

    [Fact]
    public void FormatErrorsAreIOExceptions()
    {
        var e = Rejects(new byte[3], "shorter than");
        Assert.IsAssignableFrom<IOException>(e);
    }
}
