namespace Peft.Net.Core.IO.Gguf;

/// <summary>
/// One metadata value of a GGUF file. Scalars hold their .NET value (<see cref="uint"/> for u32, <see cref="float"/>
/// for f32, <see cref="string"/>, <see cref="bool"/>, …); arrays hold a typed .NET array (<c>uint[]</c>,
/// <c>float[]</c>, <c>string[]</c>, …) and <see cref="ElementType"/>.
/// </summary>
/// <param name="Type">The value type.</param>
/// <param name="Value">The value (see the summary for the .NET types).</param>
/// <param name="ElementType">The element type of an array, or null for a scalar.</param>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType? ElementType = null)
{
    /// <summary>A u32 value.</summary>
    public static GgufValue UInt32(uint value) => new(GgufValueType.UInt32, value);

    /// <summary>An i32 value.</summary>
    public static GgufValue Int32(int value) => new(GgufValueType.Int32, value);

    /// <summary>An f32 value.</summary>
    public static GgufValue Float32(float value) => new(GgufValueType.Float32, value);

    /// <summary>A bool value.</summary>
    public static GgufValue Bool(bool value) => new(GgufValueType.Bool, value);

    /// <summary>A string value.</summary>
    public static GgufValue String(string value) => new(GgufValueType.String, value);

    /// <summary>A string array.</summary>
    public static GgufValue Strings(string[] values) => new(GgufValueType.Array, values, GgufValueType.String);

    /// <summary>An f32 array.</summary>
    public static GgufValue Floats(float[] values) => new(GgufValueType.Array, values, GgufValueType.Float32);

    /// <summary>An i32 array.</summary>
    public static GgufValue Ints(int[] values) => new(GgufValueType.Array, values, GgufValueType.Int32);

    /// <summary>A u32 array.</summary>
    public static GgufValue UInts(uint[] values) => new(GgufValueType.Array, values, GgufValueType.UInt32);

    /// <inheritdoc/>
    public override string ToString() => Value switch
    {
        string s => s.Length > 60 ? $"\"{s[..60]}…\"" : $"\"{s}\"",
        Array a => $"{ElementType}[{a.Length}]",
        _ => $"{Value} ({Type})",
    };
}
