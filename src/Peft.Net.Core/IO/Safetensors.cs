using System.Text;

namespace Peft.Net.Core.IO;

/// <summary>Whole-file convenience functions over <see cref="SafetensorsFile"/> and <see cref="SafetensorsWriter"/>.</summary>
public static class Safetensors
{
    /// <summary>
    /// Saves <paramref name="tensors"/> to <paramref name="path"/> atomically (temporary file, then rename). Tensors
    /// are stored as the reference implementation orders them — by descending dtype alignment, then by name
    /// (UTF-8 byte order) — so for the same tensors and metadata the file is byte-identical to
    /// <c>safetensors.torch.save_file</c>'s.
    /// </summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Name → tensor; each is stored with its own dtype and shape.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> (e.g. <c>{"format": "pt"}</c>), written in enumeration order.</param>
    /// <exception cref="ArgumentException">A name is reserved or not valid Unicode.</exception>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors
            .OrderByDescending(p => SafetensorsDType.AlignmentRank(p.Value.DType))
            .ThenBy(p => p.Key, Utf8Order.Instance)
            .ToList();
        using var writer = new SafetensorsWriter(path, ordered.Select(p => SafetensorsTensorSpec.Of(p.Key, p.Value)), metadata);
        foreach (var (_, tensor) in ordered)
            writer.Write(tensor);
        writer.Commit();
    }

    /// <summary>Loads every tensor of <paramref name="path"/> in its own dtype, in file order; each tensor's <see cref="Tensor.Name"/> is its key.</summary>
    /// <exception cref="SafetensorsFormatException">The file is malformed.</exception>
    /// <exception cref="NotSupportedException">A tensor's dtype is not one Peft.Net loads (F64, U16, …).</exception>
    public static Dictionary<string, Tensor> Load(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var result = new Dictionary<string, Tensor>(file.Entries.Count, StringComparer.Ordinal);
        foreach (var entry in file.Entries)
            result.Add(entry.Name, file.ReadTensor(entry.Name));
        return result;
    }

    /// <summary>Orders strings by their UTF-8 bytes, as Rust's <c>String</c> ordering does.</summary>
    private sealed class Utf8Order : IComparer<string>
    {
        public static readonly Utf8Order Instance = new();

        public int Compare(string? x, string? y) =>
            Encoding.UTF8.GetBytes(x ?? "").AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y ?? ""));
    }
}
