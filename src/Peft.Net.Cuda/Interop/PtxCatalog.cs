using System.Reflection;

namespace Peft.Net.Cuda.Interop;

/// <summary>
/// The PTX modules embedded in this assembly (<c>Peft.Net.Cuda.ptx.&lt;module&gt;.compute_&lt;cc&gt;.ptx</c>, built from
/// <c>kernels/*.cu</c> by <c>kernels/build_ptx.sh</c>) and the choice of architecture for a device: the highest
/// embedded compute capability not above the device's, which the driver JIT-compiles for the actual GPU.
/// </summary>
internal static class PtxCatalog
{
    private const string Prefix = "Peft.Net.Cuda.ptx.";
    private const string ArchMarker = ".compute_";

    /// <summary>Module name → embedded compute capabilities (major·10 + minor), e.g. "dequant4" → [70, 80, 90].</summary>
    public static IReadOnlyDictionary<string, int[]> Modules { get; } = Scan();

    /// <summary>
    /// The highest of <paramref name="available"/> that is ≤ <paramref name="deviceCapability"/>, or null when the
    /// device is older than all of them. Capabilities are major·10 + minor (8.6 → 86).
    /// </summary>
    public static int? SelectArchitecture(int deviceCapability, IEnumerable<int> available)
    {
        int? best = null;
        foreach (int cc in available)
            if (cc <= deviceCapability && (best is null || cc > best))
                best = cc;
        return best;
    }

    /// <summary>The PTX text of <paramref name="module"/> for <paramref name="capability"/>, NUL-terminated (what the driver expects).</summary>
    public static byte[] LoadPtx(string module, int capability)
    {
        string resource = $"{Prefix}{module}{ArchMarker}{capability}.ptx";
        using Stream? stream = typeof(PtxCatalog).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded PTX resource {resource} is missing from {typeof(PtxCatalog).Assembly.GetName().Name}.");
        var bytes = new byte[stream.Length + 1];
        stream.ReadExactly(bytes, 0, (int)stream.Length);
        return bytes;
    }

    private static Dictionary<string, int[]> Scan()
    {
        var modules = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (string name in typeof(PtxCatalog).Assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal) || !name.EndsWith(".ptx", StringComparison.Ordinal))
                continue;
            string stem = name[Prefix.Length..^".ptx".Length];
            int marker = stem.LastIndexOf(ArchMarker, StringComparison.Ordinal);
            if (marker <= 0 || !int.TryParse(stem[(marker + ArchMarker.Length)..], out int cc))
                continue;
            string module = stem[..marker];
            if (!modules.TryGetValue(module, out var list))
                modules[module] = list = [];
            list.Add(cc);
        }
        return modules.ToDictionary(m => m.Key, m => m.Value.Order().ToArray(), StringComparer.Ordinal);
    }
}
