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
            string type = reader.ReadString();
            var bufferNames = new string[ReadCount(reader, "buffer names")];
            for (int i = 0; i < bufferNames.Length; i++) bufferNames[i] = reader.ReadString();
            var groups = new ParamGroupState[ReadCount(reader, "groups")];
            for (int g = 0; g < groups.Length; g++)
            {
                string name = reader.ReadString();
                int hyperparameterCount = ReadCount(reader, $"hyper-parameters of group '{name}'");
                var hyperparameters = new Dictionary<string, double>(hyperparameterCount);
                for (int h = 0; h < hyperparameterCount; h++)
                {
                    string key = reader.ReadString();
                    if (!hyperparameters.TryAdd(key, reader.ReadDouble()))
                        throw new InvalidDataException($"Group '{name}' repeats the hyper-parameter '{key}'.");
                }
                var parameters = new ParameterState?[ReadCount(reader, $"parameters of group '{name}'")];
                for (int p = 0; p < parameters.Length; p++)
                {
                    if (!reader.ReadBoolean()) continue;
                    long step = reader.ReadInt64();
                    if (step < 0)
                        throw new InvalidDataException($"Parameter {p} of group '{name}' has a negative step count {step}.");
                    var buffers = new float[bufferNames.Length][];
                    for (int b = 0; b < buffers.Length; b++)
                    {
                        buffers[b] = new float[ReadCount(reader, $"elements of '{bufferNames[b]}' of parameter {p} in group '{name}'")];
                        ReadFloats(reader, buffers[b]);
                    }
                    parameters[p] = new ParameterState(step, buffers);
                }
                groups[g] = new ParamGroupState(name, hyperparameters, parameters);
            }
            return new OptimizerState(type, bufferNames, groups);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The optimizer state is truncated.", e);
        }
    }

    private static int ReadCount(BinaryReader reader, string what)
    {
        int count = reader.ReadInt32();
        long left = reader.BaseStream.CanSeek ? reader.BaseStream.Length - reader.BaseStream.Position : long.MaxValue;
        if (count < 0 || count > left)
            throw new InvalidDataException($"The optimizer state is corrupt: {count} {what}.");
        return count;
    }

    private static void WriteFloats(BinaryWriter writer, float[] values)
    {
        if (BitConverter.IsLittleEndian)
            writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            foreach (float v in values) writer.Write(v);
    }

    private static void ReadFloats(BinaryReader reader, float[] values)
    {
        if (BitConverter.IsLittleEndian)
            reader.BaseStream.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
        else
            for (int i = 0; i < values.Length; i++) values[i] = reader.ReadSingle();
    }
}
