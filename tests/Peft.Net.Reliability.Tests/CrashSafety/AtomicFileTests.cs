using System.Text;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Models.Data;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.CrashSafety;

/// <summary>Every write goes to a temporary file in the target's folder and is renamed over the target only when complete.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void WriteCreatesTheFileAndLeavesNoTemporaryFile()
    {
        string path = _folder.File("a.txt");
        AtomicFile.WriteAllText(path, "héllo");
        Assert.Equal("héllo", File.ReadAllText(path));
        Assert.Equal(Encoding.UTF8.GetBytes("héllo"), File.ReadAllBytes(path)); // no byte-order mark
        Assert.Equal(["a.txt"], _folder.FileNames());
    }

    [Fact]
    public void AFailingWriteKeepsTheOldFileAndRemovesTheTemporaryFile()
    {
        string path = _folder.File("a.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]);
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Equal(["a.bin"], _folder.FileNames());
    }

    [Fact]
    public void TheTemporaryFileLivesBesideTheTargetUntilTheRename()
    {
        string path = _folder.File("b.bin");
        AtomicFile.Write(path, stream =>
        {
            stream.WriteByte(42);
            var names = _folder.FileNames();
            string temporary = Assert.Single(names);
            Assert.StartsWith("b.bin.tmp-", temporary);
            Assert.False(File.Exists(path), "the target must not exist before the write completes");
        });
        Assert.Equal([42], File.ReadAllBytes(path));
    }

    [Fact]
    public void AReaderThatOpenedTheOldFileKeepsReadingItAfterAReplace()
    {
        string path = _folder.File("c.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 1, 1, 1 });
        using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        AtomicFile.WriteAllBytes(path, new byte[] { 2, 2 });
        var old = new byte[4];
        reader.ReadExactly(old);
        Assert.Equal([1, 1, 1, 1], old);
        Assert.Equal([2, 2], File.ReadAllBytes(path));
    }

    [Fact]
    public void AMissingFolderIsReportedBeforeAnythingIsWritten()
    {
        string path = Path.Combine(_folder.Path, "no-such-folder", "x.txt");
        var e = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.WriteAllText(path, "x"));
        Assert.Contains("no-such-folder", e.Message);
    }

    [Fact]
    public void JsonlSaveThatFailsMidwayKeepsThePreviousDataset()
    {
        string path = _folder.File("data.jsonl");
        JsonlDataset.SaveTexts(path, ["one", "two"]);
        IEnumerable<DatasetRecord> Failing()
        {
            yield return DatasetRecord.FromText("three");
            throw new InvalidOperationException("generator failed");
        }
        Assert.Throws<InvalidOperationException>(() => JsonlDataset.Save(path, Failing()));
        Assert.Equal(["one", "two"], JsonlDataset.Load(path).Texts);
        Assert.Equal(["data.jsonl"], _folder.FileNames());
    }

    [Fact]
    public void SafetensorsSaveThatFailsMidwayKeepsThePreviousFile()
    {
        string path = _folder.File("w.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(3) });
        using (var writer = new SafetensorsWriter(path, [new SafetensorsTensorSpec("a", DType.F32, [4]), new SafetensorsTensorSpec("b", DType.F32, [4])]))
            writer.Write(Tensor.Zeros(4)); // "b" never written: the writer is abandoned as if the process died here
        Assert.Equal([1f, 1f, 1f], Safetensors.Load(path)["w"].AsSpan().ToArray());
        Assert.Equal(["w.safetensors"], _folder.FileNames());
    }

    /// <summary>
    /// Static audit: the library and the CLI write files only through <see cref="AtomicFile"/> or
    /// <see cref="SafetensorsWriter"/>. A new direct write (File.WriteAllText, File.Create, a writable FileStream, a
    /// StreamWriter on a path) fails this test with the file and line to change.
    /// </summary>
    [Fact]
    public void SourcesWriteFilesOnlyThroughTheAtomicHelpers()
    {
        string root = RepositoryRoot();
        var direct = new System.Text.RegularExpressions.Regex(
            @"(?<![\w.])File\.(WriteAll|AppendAll|Create\(|CreateText\(|OpenWrite\(|AppendText\()|FileMode\.(Create|Append|OpenOrCreate|Truncate)|new StreamWriter\((""|path)");
        // PagedStateFile is not an output: it is scratch memory for paged optimizer state, created with a unique name
        // (FileMode.CreateNew) and unlinked at once, so there is no reader to protect with a rename.
        string[] allowed = ["src/Peft.Net.Core/IO/AtomicFile.cs", "src/Peft.Net.Core/IO/SafetensorsWriter.cs", "src/Peft.Net/Optim/PagedStateFile.cs"];
        var offenders = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file).Replace('\\', '/');
            if (allowed.Contains(relative) || relative.Contains("/obj/")) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
                if (!lines[i].TrimStart().StartsWith("//", StringComparison.Ordinal) && direct.IsMatch(lines[i]))
                    offenders.Add($"{relative}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.True(offenders.Count == 0,
            "These lines write files directly; use Peft.Net.Core.IO.AtomicFile (temp file + flush + rename) instead:\n" + string.Join("\n", offenders));
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "Peft.Net.sln")))
                return folder.FullName;
        throw new InvalidOperationException("Peft.Net.sln not found above " + AppContext.BaseDirectory);
    }
}
