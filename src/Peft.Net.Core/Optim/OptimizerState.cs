using System.Runtime.InteropServices;
using System.Text;

namespace Peft.Net.Core.Optim;

/// <summary>
/// Everything an optimizer needs to resume training exactly: per group the hyper-parameters (learning rates
/// included) and per parameter the step count and state buffers. Parameters are identified by their index in
/// group order, as in PyTorch's <c>optimizer.state_dict()</c>, so the optimizer that loads it must be built over the
/// same parameters in the same order. <see cref="WriteTo"/> / <see cref="ReadFrom"/> store it in a small
/// little-endian binary format.
/// </summary>
/// <param name="OptimizerType">The optimizer's kind, e.g. "AdamW" or "SGD".</param>
/// <param name="BufferNames">Names of the per-parameter buffers, in the order of <see cref="ParameterState.Buffers"/>.</param>
/// <param name="Groups">The groups in optimizer order.</param>
public sealed record OptimizerState(string OptimizerType, IReadOnlyList<string> BufferNames, IReadOnlyList<ParamGroupState> Groups)
{
    private static ReadOnlySpan<byte> Magic => "PNOPTIM\0"u8;
    private const int FormatVersion = 1;

    /// <summary>Writes the state to <paramref name="stream"/> (the stream is left open).</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(OptimizerType);
        writer.Write(BufferNames.Count);
        foreach (var name in BufferNames) writer.Write(name);
        writer.Write(Groups.Count);
        foreach (var group in Groups)
        {
            writer.Write(group.Name);
            var keys = group.Hyperparameters.Keys.Order(StringComparer.Ordinal).ToList();
            writer.Write(keys.Count);
            foreach (var key in keys)
            {
                writer.Write(key);
                writer.Write(group.Hyperparameters[key]);
            }
            writer.Write(group.Parameters.Count);
            foreach (var parameter in group.Parameters)
            {
                writer.Write(parameter is not null);
                if (parameter is null) continue;
                if (parameter.Buffers.Count != BufferNames.Count)
                    throw new InvalidOperationException(
                        $"Group '{group.Name}' has a parameter state with {parameter.Buffers.Count} buffers; the state names {BufferNames.Count}.");
                writer.Write(parameter.Step);
                foreach (var buffer in parameter.Buffers)
                {
                    writer.Write(buffer.Length);
                    WriteFloats(writer, buffer);
                }
            }
        }
    }

    /// <summary>Reads a state written by <see cref="WriteTo"/>.</summary>
    /// <remarks>
    /// Every count and string length in the stream is checked against the bytes left before anything is allocated,
    /// so a corrupt or hostile stream cannot make the reader allocate much more than the stream's size (for
    /// streams that cannot seek, buffers grow only as data actually arrives).
    /// </remarks>
    /// <exception cref="InvalidDataException">The stream is not an optimizer state, has another version, or is truncated or corrupt.</exception>
    public static OptimizerState ReadFrom(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            Span<byte> magic = stackalloc byte[Magic.Length];
            reader.BaseStream.ReadExactly(magic);
            if (!magic.SequenceEqual(Magic))
                throw new InvalidDataException("Not a Peft.Net optimizer state: the stream does not start with 'PNOPTIM'.");
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"Optimizer state format version {version} is not supported (this build reads version {FormatVersion}).");
            string type = ReadString(reader, "optimizer type");
            // Smallest encodings: a string takes ≥ 1 byte, a group ≥ 9 (name, two counts), a hyper-parameter ≥ 9
            // (key, double), a parameter ≥ 1 (presence flag), a float 4.
            int bufferCount = ReadCount(reader, "buffer names", 1);
            var bufferNames = new List<string>(Math.Min(bufferCount, 64));
            for (int i = 0; i < bufferCount; i++) bufferNames.Add(ReadString(reader, "buffer name"));
            int groupCount = ReadCount(reader, "groups", 9);
            var groups = new List<ParamGroupState>(Math.Min(groupCount, 64));
            for (int g = 0; g < groupCount; g++)
            {
                string name = ReadString(reader, $"name of group {g}");
                int hyperparameterCount = ReadCount(reader, $"hyper-parameters of group '{name}'", 9);
                var hyperparameters = new Dictionary<string, double>(Math.Min(hyperparameterCount, 64));
                for (int h = 0; h < hyperparameterCount; h++)
                {
                    string key = ReadString(reader, $"hyper-parameter name in group '{name}'");
                    if (!hyperparameters.TryAdd(key, reader.ReadDouble()))
                        throw new InvalidDataException($"Group '{name}' repeats the hyper-parameter '{key}'.");
                }
                int parameterCount = ReadCount(reader, $"parameters of group '{name}'", 1);
                var parameters = new List<ParameterState?>(Math.Min(parameterCount, 1024));
                for (int p = 0; p < parameterCount; p++)
                {
                    if (!reader.ReadBoolean())
                    {
                        parameters.Add(null);
                        continue;
                    }
                    long step = reader.ReadInt64();
                    if (step < 0)
                        throw new InvalidDataException($"Parameter {p} of group '{name}' has a negative step count {step}.");
                    var buffers = new float[bufferNames.Count][];
                    for (int b = 0; b < buffers.Length; b++)
                        buffers[b] = ReadFloats(reader, ReadCount(reader, $"elements of '{bufferNames[b]}' of parameter {p} in group '{name}'", sizeof(float)));
                    parameters.Add(new ParameterState(step, buffers));
                }
                groups.Add(new ParamGroupState(name, hyperparameters, parameters.ToArray()));
            }
            return new OptimizerState(type, bufferNames.ToArray(), groups.ToArray());
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The optimizer state is truncated.", e);
        }
        catch (FormatException e)
        {
            // A string length that is not a valid 7-bit encoded integer.
            throw new InvalidDataException($"The optimizer state is corrupt: {e.Message}", e);
        }
    }

    /// <summary>Reads a count and checks that <paramref name="bytesPerItem"/> × count bytes can still follow.</summary>
    private static int ReadCount(BinaryReader reader, string what, int bytesPerItem)
    {
        int count = reader.ReadInt32();
        if (count < 0 || (long)count * bytesPerItem > BytesLeft(reader))
            throw new InvalidDataException($"The optimizer state is corrupt: {count} {what}.");
        return count;
    }

    /// <summary>Reads a length-prefixed UTF-8 string (the <see cref="BinaryWriter.Write(string)"/> encoding), checking the length first.</summary>
    private static string ReadString(BinaryReader reader, string what)
    {
        int length = reader.Read7BitEncodedInt();
        if (length < 0 || length > BytesLeft(reader))
            throw new InvalidDataException($"The optimizer state is corrupt: the {what} claims {length} bytes.");
        if (length <= 1024 || reader.BaseStream.CanSeek)
        {
            var bytes = new byte[length];
            reader.BaseStream.ReadExactly(bytes);
            return Encoding.UTF8.GetString(bytes);
        }
        return Encoding.UTF8.GetString(ReadGrowing(reader.BaseStream, length));
    }

    private static long BytesLeft(BinaryReader reader) =>
        reader.BaseStream.CanSeek ? reader.BaseStream.Length - reader.BaseStream.Position : long.MaxValue;

    /// <summary>Reads <paramref name="length"/> bytes from a stream that cannot tell its length, growing the buffer as data arrives.</summary>
    private static byte[] ReadGrowing(Stream stream, long length)
    {
        const int chunk = 1 << 20;
        var buffer = new byte[Math.Min(length, 4096)];
        long done = 0;
        while (done < length)
        {
            if (done == buffer.Length)
                Array.Resize(ref buffer, (int)Math.Min(length, 2L * buffer.Length));
            int read = stream.Read(buffer, (int)done, (int)Math.Min(buffer.Length - done, chunk));
            if (read == 0)
                throw new EndOfStreamException();
            done += read;
        }
        return buffer;
    }

    private static void WriteFloats(BinaryWriter writer, float[] values)
    {
        if (BitConverter.IsLittleEndian)
            writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            foreach (float v in values) writer.Write(v);
    }

    /// <summary>Reads <paramref name="count"/> little-endian floats; for a stream that cannot seek the array grows as data arrives.</summary>
    private static float[] ReadFloats(BinaryReader reader, int count)
    {
        const int chunk = 1 << 18;
        var values = new float[reader.BaseStream.CanSeek ? count : Math.Min(count, 1024)];
        for (int done = 0; done < count;)
        {
            if (done == values.Length)
                Array.Resize(ref values, (int)Math.Min(count, 2L * values.Length));
            int length = Math.Min(values.Length - done, chunk);
            var target = values.AsSpan(done, length);
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(target));
            if (!BitConverter.IsLittleEndian)
                for (int i = 0; i < target.Length; i++)
                    target[i] = BitConverter.Int32BitsToSingle(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(target[i])));
            done += length;
        }
        return values;
    }
}
