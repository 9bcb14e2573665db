using System.Buffers.Binary;
using System.Text;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Optim;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.Hostile;

/// <summary>
/// Hostile inputs the format-specific test suites do not cover (found by the fuzz tests or by review): each gives
/// a documented exception naming the file and problem, and none makes the reader allocate beyond the input.
/// </summary>
public sealed class HostileInputTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static byte[] SafetensorsBytes(string header, int dataLength, ulong? declared = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }

    [Theory]
    [InlineData("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"a\":{\"dtype\":\"\\udc00\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    [InlineData("{\"__metadata__\":{\"k\":\"\\ud83d\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}")]
    public void SafetensorsHeaderWithAnUnpairedSurrogateEscape(string header)
    {
        string path = _folder.File("surrogate.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes(header, 4));
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("not valid Unicode", e.Message);
    }

    [Theory]
    [InlineData(99_999_999UL)] // just under the limit, far past the end of the file
    [InlineData(100_000_000UL)]
    [InlineData(ulong.MaxValue - 7)]
    public void HeaderLengthClaimsDoNotAllocate(ulong declared)
    {
        string path = _folder.File("claim.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes("{}", 0, declared));
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 10, "rejecting the header allocated more than 64 KiB");
    }

    [Fact]
    public void ShapeClaimsDoNotAllocate()
    {
        // A 2^31-element F32 tensor declared over 4 bytes of data: rejected from the header, nothing allocated for it.
        string path = _folder.File("shape.safetensors");
        File.WriteAllBytes(path, SafetensorsBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,32768],\"data_offsets\":[0,4]}}", 4));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 << 10);
        Assert.Contains("tensor 'a'", e.Message);
        Assert.Contains("needs 8589934592", e.Message);
    }

    [Fact]
    public void SafetensorsFileCutInsideTheDataBuffer()
    {
        string path = _folder.File("cut.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(64), ["b"] = Tensor.Ones(8) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("truncated file?", e.Message);
    }

    private static byte[] OptimizerStateBytes()
    {
        var optimizer = new AdamW([Tensor.Zeros(4)]);
        using var stream = new MemoryStream();
        optimizer.StateDict().WriteTo(stream);
        return stream.ToArray();
    }

    [Fact]
    public void OptimizerStateTruncatedAtEveryLength()
    {
        var bytes = OptimizerStateBytes();
        for (int length = 0; length < bytes.Length; length++)
        {
            var e = Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(new MemoryStream(bytes, 0, length)));
            Assert.False(string.IsNullOrWhiteSpace(e.Message));
        }
    }

    [Fact]
    public void OptimizerStateWithAnInvalidStringLength()
    {
        var bytes = OptimizerStateBytes();
        // The optimizer type's 7-bit length prefix follows the magic (8) and version (4): five continuation bytes is not a valid int.
        var corrupt = bytes[..12].Concat(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }).Concat(bytes[13..]).ToArray();
        Assert.Contains("corrupt", Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(new MemoryStream(corrupt))).Message);
        // A length longer than the rest of the stream.
        var longer = bytes[..12].Concat(new byte[] { 0xFF, 0xFF, 0xFF, 0x7F }).Concat(bytes[13..]).ToArray();
        Assert.Contains("claims 268435455 bytes", Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(new MemoryStream(longer))).Message);
    }

    [Fact]
    public void OptimizerStateCountClaimsDoNotAllocateOnStreamsThatCannotSeek()
    {
        // Magic, version, "AdamW", then a claim of 2^31 − 1 buffer names with no data behind it.
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write("PNOPTIM\0"u8);
            writer.Write(1);
            writer.Write("AdamW");
            writer.Write(int.MaxValue);
        }
        var forwardOnly = new ForwardOnly(stream.ToArray());
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => OptimizerState.ReadFrom(forwardOnly)).Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256 << 10);
    }

    [Theory]
    [InlineData("{\"text\": \"\\ud800\"}")]
    [InlineData("{\"prompt\": \"a\\udc00\", \"completion\": \"b\"}")]
    public void JsonlLineWithAnUnpairedSurrogateEscapeIsABadLine(string badLine)
    {
        string text = "{\"text\": \"fine\"}\n" + badLine + "\n{\"text\": \"also fine\"}\n";
        var e = Assert.Throws<JsonlFormatException>(() => JsonlDataset.Parse(new StringReader(text), "data.jsonl"));
        Assert.Equal(2, e.LineNumber);
        Assert.StartsWith("data.jsonl:2: ", e.Message);
        Assert.Contains("not valid Unicode", e.Message);
        var lenient = JsonlDataset.Parse(new StringReader(text), "data.jsonl", skipBadLines: true);
        Assert.Equal(["fine", "also fine"], lenient.Texts);
        Assert.Equal(2, Assert.Single(lenient.Errors).LineNumber);
    }

    [Fact]
    public void TokenizerWithAnUnpairedSurrogateEscape()
    {
        string json = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "gpt2", "tokenizer.json"));
        int at = json.IndexOf("\"merges\"", StringComparison.Ordinal);
        Assert.True(at > 0);
        string broken = json[..at] + "\"merges\": [\"\\ud800 a\"], \"ignored\"" + json[(at + "\"merges\"".Length)..];
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(broken, "hostile/tokenizer.json"));
        Assert.StartsWith("hostile/tokenizer.json: ", e.Message);
        Assert.Contains("not valid Unicode", e.Message);
    }

    [Theory]
    [InlineData("\"vocab\": {\"a\": 0, \"b\": 100000000}", "ids up to 100000000")]
    [InlineData("\"vocab\": {\"a\": 0, \"b\": 2147483647}", "ids up to 2147483647")]
    public void TokenizerIdsFarPastTheVocabularyAreRejectedWithoutAllocating(string vocab, string expected)
    {
        string json = "{\"model\": {\"type\": \"BPE\", " + vocab + ", \"merges\": []}}";
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(json, "ids/tokenizer.json"));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "a sparse id made the loader allocate an id table");
        Assert.StartsWith("ids/tokenizer.json: ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TokenizerAddedTokenIdAtIntMaxValueIsRejected()
    {
        string json = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}, " +
                      "\"added_tokens\": [{\"id\": 2147483647, \"content\": \"<x>\", \"special\": true}]}";
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(json, "added/tokenizer.json"));
        Assert.Contains("added_tokens[0].id", e.Message);
        Assert.Contains("far past the vocabulary", e.Message);
    }

    [Theory]
    [InlineData("{\"quant_type\": \"\\ud800\", \"blocksize\": 64}", "not valid Unicode")]
    [InlineData(null, "not valid UTF-8")]
    public void FourBitQuantStateThatIsNotUnicode(string? json, string expected)
    {
        var q = Peft.Net.Quantization.Nf4Quantizer.Quantize(Tensor.Ones(4, 64));
        var tensors = Peft.Net.Quantization.Bnb4BitSerializer.ToTensors("w", q).ToDictionary(p => p.Key, p => p.Value);
        string key = tensors.Keys.Single(k => k.Contains(".quant_state.", StringComparison.Ordinal));
        byte[] bytes = json is null ? [0x7B, 0x22, 0xC0, 0xAF, 0x22, 0x3A, 0x31, 0x7D] : Encoding.UTF8.GetBytes(json);
        tensors[key] = Tensor.Wrap(bytes, bytes.Length);
        string path = _folder.File("q.safetensors");
        Safetensors.Save(path, tensors);
        using var file = SafetensorsFile.Open(path);
        var e = Assert.Throws<SafetensorsFormatException>(() => Peft.Net.Quantization.Bnb4BitSerializer.Read(file, "w"));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    private sealed class ForwardOnly(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
