using System.Buffers.Binary;
using System.Text;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.Hostile;

/// <summary>The real `peft` process, given hostile files, exits with the user-error code and one line naming the file: no crash, no stack trace.</summary>
public sealed class CliHostileFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void InspectReportsHostileFilesInOneLine()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["huge-header.safetensors"] = Build("{}", 0, ulong.MaxValue),
            ["surrogate.safetensors"] = Build("{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
            ["truncated.safetensors"] = Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000],\"data_offsets\":[0,4000]}}", 100),
        };
        foreach (var (name, bytes) in files)
        {
            string path = _folder.File(name);
            File.WriteAllBytes(path, bytes);
            var result = CliProcess.Run(TimeSpan.FromSeconds(60), "inspect", path);
            Assert.True(result.ExitCode == 1, $"{name}: exit code {result.ExitCode}, stderr: {result.Error}");
            string line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("error: ", line);
            Assert.Contains(path, line);
            Assert.DoesNotContain("   at ", result.Error);
        }
    }

    private static byte[] Build(string header, int dataLength, ulong? declared = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declared ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        return bytes;
    }
}
