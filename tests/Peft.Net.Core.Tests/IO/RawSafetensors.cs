using System.Buffers.Binary;
using System.Text;

namespace Peft.Net.Core.Tests.IO;

/// <summary>Builds safetensors files byte by byte, so tests can write exactly the malformation they need.</summary>
internal static class RawSafetensors
{
    /// <summary>8-byte little-endian length of <paramref name="header"/> (or <paramref name="declaredLength"/>), the header, then <paramref name="data"/>.</summary>
    public static byte[] Build(byte[] header, byte[] data, ulong? declaredLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    public static byte[] Build(string header, int dataLength) => Build(Encoding.UTF8.GetBytes(header), new byte[dataLength]);

    /// <summary>Writes a file holding <paramref name="header"/> and <paramref name="dataLength"/> zero bytes of data.</summary>
    public static string Write(string path, string header, int dataLength)
    {
        File.WriteAllBytes(path, Build(header, dataLength));
        return path;
    }
}
