using Peft.Net.Core.IO;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.IO;

public sealed class SafetensorsWriterTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static SafetensorsTensorSpec[] TwoSpecs() =>
        [new("a", DType.F32, [2, 2]), new("b", DType.U8, [3])];

    [Fact]
    public void StreamsTensorsOneByOneAndInChunks()
    {
        string path = _folder.File("out.safetensors");
        var a = Tensor.FromArray([1f, 2, 3, 4], 2, 2);
        using (var writer = new SafetensorsWriter(path, TwoSpecs(), new Dictionary<string, string> { ["k"] = "v" }))
        {
            Assert.True(File.Exists(writer.TemporaryPath));
            Assert.StartsWith(path + ".tmp-", writer.TemporaryPath);
            Assert.False(File.Exists(path));
            writer.Write(a);
            Assert.Equal(1, writer.TensorsWritten);
            writer.WriteBytes([10]);
            writer.WriteBytes([]);
            writer.WriteBytes([20, 30]);
            Assert.True(writer.IsComplete);
            writer.Commit();
            Assert.False(File.Exists(writer.TemporaryPath));
        }
        Assert.Equal(["out.safetensors"], _folder.FileNames());
        var loaded = Safetensors.Load(path);
        Assert.Equal([1f, 2, 3, 4], loaded["a"].ToArray());
        Assert.Equal([10, 20, 30], loaded["b"].AsSpan<byte>().ToArray());
    }

    [Fact]
    public void DisposeCommitsACompleteFile()
    {
        string path = _folder.File("auto.safetensors");
        using (var writer = new SafetensorsWriter(path, [new SafetensorsTensorSpec("e", DType.F32, [0]), new("s", DType.I64, [])]))
        {
            writer.Write(Tensor.Zeros(0));
            writer.Write(Tensor.Wrap(new[] { 5L }));
        }
        Assert.Equal(["auto.safetensors"], _folder.FileNames());
        Assert.Equal(5L, Safetensors.Load(path)["s"].AsSpan<long>()[0]);
    }

    [Fact]
    public void AnExceptionMidWriteLeavesNoTargetAndNoTemporaryFile()
    {
        string path = _folder.File("out.safetensors");
        Action writeThenFail = () =>
        {
            using var writer = new SafetensorsWriter(path, TwoSpecs());
            writer.Write(Tensor.Zeros(2, 2));
            throw new InvalidOperationException("producer failed");
        };
        var ex = Assert.Throws<InvalidOperationException>(writeThenFail);
        Assert.Equal("producer failed", ex.Message);
        Assert.Empty(_folder.FileNames());
    }

    [Fact]
    public void AFailedWriteKeepsTheExistingTargetUntouched()
    {
        string path = _folder.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["old"] = Tensor.Ones(3) });
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<ArgumentException>(() =>
        {
            using var writer = new SafetensorsWriter(path, TwoSpecs());
            writer.Write(Tensor.Zeros(4)); // declared [2, 2]
        });
        Assert.Equal(["model.safetensors"], _folder.FileNames());
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void CommitReplacesAnExistingTarget()
    {
        string path = _folder.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["old"] = Tensor.Ones(3) });
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["new"] = Tensor.Ones(1) });
        Assert.Equal(["new"], Safetensors.Load(path).Keys);
        Assert.Equal(["model.safetensors"], _folder.FileNames());
    }

    [Fact]
    public void CommitBeforeEveryTensorIsWrittenThrowsAndDisposeDiscards()
    {
        string path = _folder.File("partial.safetensors");
        var writer = new SafetensorsWriter(path, TwoSpecs());
        writer.Write(Tensor.Zeros(2, 2));
        writer.WriteBytes([1]);
        var e = Assert.Throws<InvalidOperationException>(writer.Commit);
        Assert.Contains("only 1 of 2 tensors were written (next: 'b')", e.Message);
        writer.Dispose();
        Assert.Empty(_folder.FileNames());
    }

    [Fact]
    public void WritesThatDoNotMatchTheDeclarationsAreRejected()
    {
        string path = _folder.File("x.safetensors");
        using var writer = new SafetensorsWriter(path, TwoSpecs());
        var wrongDType = Assert.Throws<ArgumentException>(() => writer.Write(Tensor.Empty(DType.F16, 2, 2)));
        Assert.Contains("tensor 'a' was declared F32 [2, 2] but tensor [2, 2] F16 was written", wrongDType.Message);
        Assert.Throws<ArgumentException>(() => writer.Write(Tensor.Zeros(2, 3)));
        Assert.Throws<ArgumentException>(() => writer.WriteBytes(new byte[17]));
        writer.WriteBytes(new byte[8]);
        Assert.Throws<InvalidOperationException>(() => writer.Write(Tensor.Zeros(2, 2)));
        writer.WriteBytes(new byte[8]);
        writer.Write(Tensor.Empty(DType.U8, 3));
        Assert.Throws<InvalidOperationException>(() => writer.WriteBytes([1]));
    }

    [Fact]
    public void InvalidDeclarationsAreRejectedBeforeAnythingIsCreated()
    {
        string path = _folder.File("x.safetensors");
        Assert.Contains("declared twice", Assert.Throws<ArgumentException>(() =>
            new SafetensorsWriter(path, [new("a", DType.F32, [1]), new("a", DType.F32, [1])])).Message);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() =>
            new SafetensorsWriter(path, [new("__metadata__", DType.F32, [1])])).Message);
        Assert.Contains("negative dimension", Assert.Throws<ArgumentException>(() =>
            new SafetensorsWriter(path, [new("a", DType.F32, [2, -1])])).Message);
        Assert.Contains("not valid Unicode", Assert.Throws<ArgumentException>(() =>
            new SafetensorsWriter(path, [new("bad\ud800", DType.F32, [1])])).Message);
        Assert.Throws<DirectoryNotFoundException>(() =>
            new SafetensorsWriter(_folder.File("missing/x.safetensors"), [new("a", DType.F32, [1])]));
        Assert.Empty(_folder.FileNames());
    }
}
