using System.Text;

namespace Peft.Net.Reliability.Tests.Testing;

/// <summary>Hand-built GGUF bytes for hostile inputs: every field written explicitly, nothing validated.</summary>
internal sealed class GgufBytes
{
    private readonly MemoryStream _stream = new();
    private readonly BinaryWriter _out;

    public GgufBytes(uint version = 3, ulong tensors = 0, ulong kvs = 0)
    {
        _out = new BinaryWriter(_stream);
        _out.Write(Encoding.ASCII.GetBytes("GGUF"));
        _out.Write(version);
        _out.Write(tensors);
        _out.Write(kvs);
    }

    public GgufBytes String(string value) => StringBytes(Encoding.UTF8.GetBytes(value));

    public GgufBytes StringBytes(byte[] bytes)
    {
        _out.Write((ulong)bytes.Length);
        _out.Write(bytes);
        return this;
    }

    public GgufBytes U32(uint value) { _out.Write(value); return this; }

    public GgufBytes U64(ulong value) { _out.Write(value); return this; }

    public GgufBytes F32(float value) { _out.Write(value); return this; }

    public GgufBytes Raw(params byte[] bytes) { _out.Write(bytes); return this; }

    /// <summary>A key with a u32 value.</summary>
    public GgufBytes KeyU32(string key, uint value) => String(key).U32(4).U32(value);

    /// <summary>A key with a string value.</summary>
    public GgufBytes KeyString(string key, string value) => String(key).U32(8).String(value);

    /// <summary>A tensor info record.</summary>
    public GgufBytes Tensor(string name, ulong[] ne, uint type, ulong offset)
    {
        String(name).U32((uint)ne.Length);
        foreach (var n in ne) U64(n);
        return U32(type).U64(offset);
    }

    /// <summary>Zero padding to a multiple of 32 (the data section start).</summary>
    public GgufBytes Align()
    {
        while (_stream.Length % 32 != 0) _out.Write((byte)0);
        return this;
    }

    public byte[] ToArray()
    {
        _out.Flush();
        return _stream.ToArray();
    }
}
