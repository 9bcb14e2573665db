namespace Peft.Net.Core.IO;

/// <summary>
/// A dtype name that may appear in a safetensors header, its element size in bits, and the <see cref="DType"/>
/// it loads as (null for types the format knows but Peft.Net does not load, such as F64 or U16).
/// </summary>
internal readonly record struct SafetensorsDType(string Name, int Bits, DType? DType)
{
    /// <summary>Every dtype of the reference implementation. Sub-byte types (F4, F6_*) have 4 or 6 bits.</summary>
    private static readonly Dictionary<string, SafetensorsDType> Known = new SafetensorsDType[]
    {
        new("BOOL", 8, Core.DType.Bool),
        new("F4", 4, null),
        new("F6_E2M3", 6, null),
        new("F6_E3M2", 6, null),
        new("U8", 8, Core.DType.U8),
        new("I8", 8, Core.DType.I8),
        new("F8_E5M2", 8, null),
        new("F8_E4M3", 8, null),
        new("F8_E8M0", 8, null),
        new("I16", 16, null),
        new("U16", 16, null),
        new("F16", 16, Core.DType.F16),
        new("BF16", 16, Core.DType.BF16),
        new("I32", 32, Core.DType.I32),
        new("U32", 32, null),
        new("F32", 32, Core.DType.F32),
        new("C64", 64, null),
        new("F64", 64, null),
        new("I64", 64, Core.DType.I64),
        new("U64", 64, null),
    }.ToDictionary(d => d.Name, StringComparer.Ordinal);

    /// <summary>Looks up a header dtype name (case-sensitive, as the reference is).</summary>
    public static bool TryParse(string name, out SafetensorsDType dtype) => Known.TryGetValue(name, out dtype);

    /// <summary>The supported names, for error messages.</summary>
    public static string SupportedNames =>
        string.Join(", ", Known.Values.Where(d => d.DType is not null).Select(d => d.Name));

    /// <summary>
    /// Rank of <paramref name="dtype"/> in the reference's alignment order (BOOL &lt; U8 &lt; I8 &lt; F16 &lt; BF16 &lt;
    /// I32 &lt; F32 &lt; I64). The reference writer stores tensors by descending rank, then by name.
    /// </summary>
    public static int AlignmentRank(DType dtype) => dtype switch
    {
        Core.DType.Bool => 0,
        Core.DType.U8 => 1,
        Core.DType.I8 => 2,
        Core.DType.F16 => 3,
        Core.DType.BF16 => 4,
        Core.DType.I32 => 5,
        Core.DType.F32 => 6,
        Core.DType.I64 => 7,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "Unknown dtype."),
    };
}
