namespace Peft.Net.Core.Kernels;

/// <summary>
/// Per-thread packing buffers of the GEMM: pinned, 64-byte aligned, grown on demand and then reused, so a GEMM in
/// steady state allocates nothing. A thread holds a small stack of them, so a GEMM started from inside another
/// one on the same thread (say, by a weight's <see cref="IPackableWeight.DecodeTile"/>) gets buffers of its own.
/// </summary>
internal sealed unsafe class GemmWorkspace
{
    [ThreadStatic] private static List<GemmWorkspace>? t_stack;
    [ThreadStatic] private static int t_depth;

    private Buffer _packedA, _packedB, _packedA2, _packedB2, _sharedB, _scratch, _tile, _result, _sums;

    /// <summary>Takes the calling thread's next free workspace; give it back with <see cref="Release"/>.</summary>
    public static GemmWorkspace Acquire()
    {
        var stack = t_stack ??= [];
        if (t_depth == stack.Count) stack.Add(new GemmWorkspace());
        return stack[t_depth++];
    }

    /// <summary>Returns the workspace most recently taken by <see cref="Acquire"/> on this thread.</summary>
    public static void Release() => t_depth--;

    /// <summary>Packed A block: (MC / MR) panels of (KC, MR).</summary>
    public float* PackedA(int floats) => _packedA.Get(floats);

    /// <summary>Packed B block: (NC / NR) panels of (KC, NR).</summary>
    public float* PackedB(int floats) => _packedB.Get(floats);

    /// <summary>Packed low-rank factor A2 for one A block: (MC / MR) panels of (K2, MR).</summary>
    public float* PackedA2(int floats) => _packedA2.Get(floats);

    /// <summary>Packed low-rank factor B2 for one B block: (NC / NR) panels of (K2, NR).</summary>
    public float* PackedB2(int floats) => _packedB2.Get(floats);

    /// <summary>Every B block of a split-M call, packed once by all its threads (held by the calling thread).</summary>
    public float* SharedB(long floats) => _sharedB.Get(checked((int)floats));

    /// <summary>Decode target for weight tiles that must be transposed while packed: (NR, KC).</summary>
    public float* Scratch(int floats) => _scratch.Get(floats);

    /// <summary>One C tile (MR, NR) for edge tiles.</summary>
    public float* Tile(int floats) => _tile.Get(floats);

    /// <summary>A whole result computed transposed (N, M), for thin products with A transposed.</summary>
    public float* Result(int floats) => _result.Get(floats);

    /// <summary>Partial sums of <see cref="GemmOuterKernel"/>: (Rows, BlockColumns).</summary>
    public float* Sums(int floats) => _sums.Get(floats);

    private struct Buffer
    {
        private float[]? _array;
        private float* _aligned;

        public float* Get(int floats)
        {
            if (_array is null || _array.Length < floats + 16)
            {
                _array = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
                fixed (float* p = _array) // pinned array: the address never changes
                    _aligned = (float*)(((nuint)p + 63) & ~(nuint)63);
            }
            return _aligned;
        }
    }
}
