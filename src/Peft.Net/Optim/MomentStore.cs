using System.Runtime.InteropServices;
using Peft.Net.Core.Optim;

namespace Peft.Net.Optim;

/// <summary>Adam's two moments of one parameter: float32 (First/Second hold 4n bytes) or 8-bit codes with block absmax.</summary>
internal sealed class Moments
{
    public long Step { get; set; }

    public required bool EightBit { get; init; }

    public required StateRegion First { get; init; }

    public required StateRegion Second { get; init; }

    public float[] Absmax1 { get; init; } = [];

    public float[] Absmax2 { get; init; } = [];

    public long Bytes => (long)First.Length + Second.Length + 4L * (Absmax1.Length + Absmax2.Length);

    public void Clear()
    {
        Step = 0;
        First.Bytes.Clear();
        Second.Bytes.Clear();
        Absmax1.AsSpan().Clear();
        Absmax2.AsSpan().Clear();
    }
}

/// <summary>
/// The moments of every parameter of an optimizer, allocated up front (paged ones in one <see cref="PagedStateFile"/>),
/// and their saved form: buffers "state1", "state2", "absmax1", "absmax2" per parameter — the 8-bit codes packed four to
/// a float (bit patterns kept exactly), or the float32 moments with empty absmax lists.
/// </summary>
internal sealed class MomentStore : IDisposable
{
    public static readonly string[] BufferNames = ["state1", "state2", "absmax1", "absmax2"];

    private readonly Moments[][] _moments;
    private readonly PagedStateFile? _file;

    /// <param name="groups">The optimizer's groups.</param>
    /// <param name="eightBit">Whether a parameter of n elements keeps 8-bit moments.</param>
    /// <param name="paged">Place the moments of parameters of at least <paramref name="pagedMinimum"/> elements in a paged file.</param>
    /// <param name="pagedMinimum">bitsandbytes pages state tensors of ≥ 1e5 elements.</param>
    /// <param name="directory">Folder of the paged file (the temp folder when null).</param>
    public MomentStore(IReadOnlyList<ParamGroup> groups, Func<int, bool> eightBit, bool paged, int pagedMinimum, string? directory)
    {
        long pagedBytes = 0;
        foreach (var group in groups)
            foreach (var p in group.Parameters)
                if (paged && p.Count >= pagedMinimum)
                    pagedBytes += 2 * PagedStateFile.Footprint(eightBit(p.Count) ? p.Count : 4L * p.Count);
        _file = pagedBytes > 0 ? new PagedStateFile(pagedBytes, directory) : null;
        _moments = groups.Select(g => g.Parameters.Select(p =>
        {
            bool eight = eightBit(p.Count);
            int bytes = eight ? p.Count : checked(4 * p.Count);
            var file = _file is not null && p.Count >= pagedMinimum ? _file : null;
            int blocks = eight ? AdamW8bitKernel.BlockCount(p.Count) : 0;
            return new Moments
            {
                EightBit = eight,
                First = StateRegion.Allocate(bytes, file),
                Second = StateRegion.Allocate(bytes, file),
                Absmax1 = new float[blocks],
                Absmax2 = new float[blocks],
            };
        }).ToArray()).ToArray();
    }

    public Moments this[int group, int index] => _moments[group][index];

    /// <summary>Bytes of all moments and absmax values.</summary>
    public long Bytes => _moments.Sum(g => g.Sum(m => m.Bytes));

    /// <summary>Bytes placed in the paged file.</summary>
    public long PagedBytes => _moments.Sum(g => g.Where(m => m.First.IsPaged).Sum(m => (long)m.First.Length + m.Second.Length));

    /// <summary>The paged file's path (unlinked at once on Linux/macOS), or null.</summary>
    public string? PagedFilePath => _file?.Path;

    /// <summary>The saved form of one parameter's state, or null before its first step.</summary>
    public ParameterState? Save(int group, int index)
    {
        var m = _moments[group][index];
        if (m.Step == 0) return null;
        return new ParameterState(m.Step, [Pack(m.First.Bytes), Pack(m.Second.Bytes), (float[])m.Absmax1.Clone(), (float[])m.Absmax2.Clone()]);
    }

    /// <summary>Checks a saved parameter state against this store; returns the problem or null.</summary>
    public string? Check(int group, int index, ParameterState? saved)
    {
        if (saved is null) return null;
        var m = _moments[group][index];
        if (saved.Buffers.Count != 4) return $"has {saved.Buffers.Count} buffers; expected 4 ({string.Join(", ", BufferNames)})";
        int packed = m.EightBit ? (m.First.Length + 3) / 4 : m.First.Length / 4;
        if (saved.Buffers[0].Length != packed || saved.Buffers[1].Length != packed)
            return $"has state buffers of {saved.Buffers[0].Length} and {saved.Buffers[1].Length} floats; expected {packed} ({(m.EightBit ? "8-bit codes" : "float32 moments")})";
        if (saved.Buffers[2].Length != m.Absmax1.Length || saved.Buffers[3].Length != m.Absmax2.Length)
            return $"has {saved.Buffers[2].Length} and {saved.Buffers[3].Length} absmax values; expected {m.Absmax1.Length}";
        return null;
    }

    /// <summary>Restores one parameter's state (null: back to a fresh state).</summary>
    public void Load(int group, int index, ParameterState? saved)
    {
        var m = _moments[group][index];
        m.Clear();
        if (saved is null) return;
        m.Step = saved.Step;
        Unpack(saved.Buffers[0], m.First.Bytes);
        Unpack(saved.Buffers[1], m.Second.Bytes);
        saved.Buffers[2].CopyTo(m.Absmax1, 0);
        saved.Buffers[3].CopyTo(m.Absmax2, 0);
    }

    private static float[] Pack(ReadOnlySpan<byte> bytes)
    {
        var floats = new float[(bytes.Length + 3) / 4];
        bytes.CopyTo(MemoryMarshal.AsBytes(floats.AsSpan()));
        return floats;
    }

    private static void Unpack(float[] floats, Span<byte> bytes) => MemoryMarshal.AsBytes(floats.AsSpan())[..bytes.Length].CopyTo(bytes);

    public void Dispose() => _file?.Dispose();
}
