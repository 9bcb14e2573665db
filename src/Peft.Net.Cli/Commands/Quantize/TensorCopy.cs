using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Commands.Quantize;

/// <summary>Copies a tensor's bytes unchanged from a file to a writer, in chunks (no full copy in memory).</summary>
internal static class TensorCopy
{
    private const int ChunkBytes = 1 << 22;

    public static void Copy(SafetensorsFile file, SafetensorsEntry entry, SafetensorsWriter writer)
    {
        if (entry.ByteLength == 0)
        {
            writer.WriteBytes([]);
            return;
        }
        var buffer = new byte[(int)Math.Min(ChunkBytes, entry.ByteLength)];
        for (long done = 0; done < entry.ByteLength; done += buffer.Length)
        {
            var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, entry.ByteLength - done));
            file.CopyBytes(entry.Name, done, chunk);
            writer.WriteBytes(chunk);
        }
    }

    /// <summary>The declaration that copies <paramref name="entry"/> as it is.</summary>
    public static SafetensorsTensorSpec Spec(SafetensorsFile file, SafetensorsEntry entry) =>
        entry.IsSupported
            ? new SafetensorsTensorSpec(entry.Name, entry.DType, entry.ShapeArray())
            : throw new Infrastructure.CliUserException($"{file.FilePath}: tensor '{entry.Name}' has dtype {entry.DTypeName}, which peft cannot copy");
}
