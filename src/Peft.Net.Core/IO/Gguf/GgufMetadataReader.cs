namespace Peft.Net.Core.IO.Gguf;

/// <summary>Reads the typed metadata values of a GGUF header (scalars, strings and flat arrays).</summary>
internal static class GgufMetadataReader
{
    public static GgufValue ReadValue(GgufHeaderReader reader, string key)
    {
        string item = $"key '{key}'";
        var type = ReadType(reader, item, "value type");
        if (type != GgufValueType.Array) return new GgufValue(type, ReadScalar(reader, type, item));
        var element = ReadType(reader, item, "array element type");
        if (element == GgufValueType.Array)
            throw reader.Error(item, "nested arrays are not supported (ggml rejects an array of arrays)");
        int size = ScalarSize(element);
        // Each element takes at least its size (a string at least its 8-byte length): bounds the count by the file.
        long max = Math.Min(GgufHeaderReader.MaxArrayLength, reader.Remaining / Math.Max(1, size == 0 ? 8 : size));
        long count = reader.ReadCount(item, "array length", max);
        return new GgufValue(GgufValueType.Array, ReadArray(reader, element, (int)count, item), element);
    }

    private static GgufValueType ReadType(GgufHeaderReader reader, string item, string what)
    {
        uint raw = reader.ReadUInt32(item, what);
        return raw <= (uint)GgufValueType.Float64
            ? (GgufValueType)raw
            : throw reader.Error(item, $"unknown {what} {raw} (GGUF defines 0..12)");
    }

    /// <summary>Byte size of a scalar type; 0 for a string.</summary>
    private static int ScalarSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    private static object ReadScalar(GgufHeaderReader reader, GgufValueType type, string item) => type switch
    {
        GgufValueType.UInt8 => reader.ReadByte(item, "u8 value"),
        GgufValueType.Int8 => (sbyte)reader.ReadByte(item, "i8 value"),
        GgufValueType.UInt16 => reader.ReadUInt16(item, "u16 value"),
        GgufValueType.Int16 => (short)reader.ReadUInt16(item, "i16 value"),
        GgufValueType.UInt32 => reader.ReadUInt32(item, "u32 value"),
        GgufValueType.Int32 => (int)reader.ReadUInt32(item, "i32 value"),
        GgufValueType.Float32 => BitConverter.UInt32BitsToSingle(reader.ReadUInt32(item, "f32 value")),
        GgufValueType.Bool => ReadBool(reader, item),
        GgufValueType.String => reader.ReadString(item, "string value"),
        GgufValueType.UInt64 => reader.ReadUInt64(item, "u64 value"),
        GgufValueType.Int64 => (long)reader.ReadUInt64(item, "i64 value"),
        GgufValueType.Float64 => BitConverter.UInt64BitsToDouble(reader.ReadUInt64(item, "f64 value")),
        _ => throw reader.Error(item, $"type {type} is not a scalar"),
    };

    private static bool ReadBool(GgufHeaderReader reader, string item)
    {
        byte value = reader.ReadByte(item, "bool value");
        return value <= 1 ? value == 1 : throw reader.Error(item, $"bool value is {value}; GGUF bools are 0 or 1");
    }

    private static Array ReadArray(GgufHeaderReader reader, GgufValueType element, int count, string item)
    {
        switch (element)
        {
            case GgufValueType.String:
            {
                var values = new string[count];
                for (int i = 0; i < count; i++) values[i] = reader.ReadString(item, $"array element {i}");
                return values;
            }
            case GgufValueType.Float32:
            {
                var values = new float[count];
                for (int i = 0; i < count; i++) values[i] = BitConverter.UInt32BitsToSingle(reader.ReadUInt32(item, "f32 element"));
                return values;
            }
            case GgufValueType.Int32:
            {
                var values = new int[count];
                for (int i = 0; i < count; i++) values[i] = (int)reader.ReadUInt32(item, "i32 element");
                return values;
            }
            case GgufValueType.UInt32:
            {
                var values = new uint[count];
                for (int i = 0; i < count; i++) values[i] = reader.ReadUInt32(item, "u32 element");
                return values;
            }
            default:
            {
                var values = new object[count];
                for (int i = 0; i < count; i++) values[i] = ReadScalar(reader, element, item);
                return values;
            }
        }
    }
}
