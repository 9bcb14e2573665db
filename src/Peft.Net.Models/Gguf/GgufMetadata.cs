using Peft.Net.Core.IO.Gguf;

namespace Peft.Net.Models.Gguf;

/// <summary>Typed reads of GGUF metadata with llama.cpp's strictness: a key of the wrong type is an error naming it.</summary>
internal static class GgufMetadata
{
    public static T? Optional<T>(GgufFile file, string key) where T : class
    {
        if (file.Get(key) is not { } value) return null;
        return value.Value as T ?? throw new GgufFormatException(file.FilePath, $"key '{key}'", $"has type {Describe(value)}, expected {typeof(T).Name}");
    }

    public static string RequiredString(GgufFile file, string key) =>
        Optional<string>(file, key) ?? throw new GgufFormatException(file.FilePath, $"key '{key}'", "is missing");

    /// <summary>A u32 (or another integer type that holds a non-negative value that fits, as llama.cpp's converters sometimes write).</summary>
    public static uint? OptionalUInt(GgufFile file, string key)
    {
        if (file.Get(key) is not { } value) return null;
        return value.Value switch
        {
            uint u => u,
            int i when i >= 0 => (uint)i,
            ulong l when l <= uint.MaxValue => (uint)l,
            long l when l is >= 0 and <= uint.MaxValue => (uint)l,
            ushort s => s,
            byte b => b,
            _ => throw new GgufFormatException(file.FilePath, $"key '{key}'", $"has type {Describe(value)}, expected u32"),
        };
    }

    public static int RequiredPositiveInt(GgufFile file, string key)
    {
        uint value = OptionalUInt(file, key) ?? throw new GgufFormatException(file.FilePath, $"key '{key}'", "is missing");
        return value is > 0 and <= int.MaxValue ? (int)value : throw new GgufFormatException(file.FilePath, $"key '{key}'", $"is {value}; it must be a positive 32-bit count");
    }

    public static float? OptionalFloat(GgufFile file, string key)
    {
        if (file.Get(key) is not { } value) return null;
        float result = value.Value switch
        {
            float f => f,
            double d => (float)d,
            _ => throw new GgufFormatException(file.FilePath, $"key '{key}'", $"has type {Describe(value)}, expected f32"),
        };
        return float.IsFinite(result) ? result : throw new GgufFormatException(file.FilePath, $"key '{key}'", $"is {result}; it must be finite");
    }

    public static bool? OptionalBool(GgufFile file, string key)
    {
        if (file.Get(key) is not { } value) return null;
        return value.Value as bool? ?? throw new GgufFormatException(file.FilePath, $"key '{key}'", $"has type {Describe(value)}, expected bool");
    }

    private static string Describe(GgufValue value) => value.ElementType is { } e ? $"array of {e}" : value.Type.ToString();
}
