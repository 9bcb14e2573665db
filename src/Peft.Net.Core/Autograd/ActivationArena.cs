namespace Peft.Net.Core.Autograd;

/// <summary>
/// Reuses the memory of one training graph in the next. While a <see cref="Record"/> scope is open on a thread
/// and autograd is recording, the results of operations (activations) take their arrays from this arena's pool; the
/// graph's root keeps the list, and when <see cref="Tensor.Backward"/> has run through that graph the arrays go back
/// to the pool, along with the intermediate gradient buffers of the pass. From the second step on, a step of the same
/// shape allocates (almost) nothing.
/// </summary>
/// <remarks>
/// <para>The owner of the scope guarantees that the only tensors to leave it are roots it attaches with
/// <see cref="Attach"/> and small tensors (below <see cref="MinimumLength"/> elements, never pooled): in practice
/// the scalar loss of a model's <c>Loss</c>. Results computed with recording off (<see cref="Tensor.NoGrad"/>) are
/// ordinary allocations, so caches built under NoGrad are safe; the one exception is a checkpointed block's forward
/// pass (<see cref="RunDiscardingActivations"/>), whose results go back to the pool as soon as the block returns.</para>
/// <para>After a backward pass has released a graph, a second backward through it throws, as PyTorch does without
/// <c>retain_graph</c>.</para>
/// </remarks>
internal sealed class ActivationArena
{
    /// <summary>Results smaller than this many floats are ordinary allocations (they are cheap and may escape).</summary>
    public const int MinimumLength = 1024;

    [ThreadStatic]
    private static ActivationArena? t_recording;

    [ThreadStatic]
    private static bool t_lendWithoutRecording;

    private List<float[]> _lent = [];

    /// <summary>The arena recording on this thread, if any (gradient checkpointing recomputes into it).</summary>
    public static ActivationArena? Current => t_recording;

    /// <summary>Where released arrays wait for the next step.</summary>
    public TensorBufferPool Pool { get; } = new();

    /// <summary>
    /// An array for an operation's result of <paramref name="length"/> floats: from the recording arena of this
    /// thread when there is one, recording is on and the result is large enough; otherwise a new array.
    /// </summary>
    public static float[] AllocateResult(int length, bool zeroed)
    {
        var arena = t_recording;
        if (arena is not null && length >= MinimumLength && (GradMode.IsEnabled || t_lendWithoutRecording))
            return arena.Lend(length, zeroed);
        return zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Starts taking results from this arena on this thread until the scope is disposed.</summary>
    public RecordingScope Record() => new(this);

    /// <summary>
    /// Hands the arrays lent since the last call to <paramref name="root"/>'s graph: they return to the pool when a
    /// backward pass through <paramref name="root"/> ends. When <paramref name="root"/> has no graph they return now.
    /// </summary>
    public void Attach(Tensor root)
    {
        List<float[]> lent;
        lock (Pool) (lent, _lent) = (_lent, []);
        if (root.Node is null) ReturnAll(lent);
        else root.AttachGraphBuffers(new GraphBuffers(this, lent));
    }

    /// <summary>
    /// Runs <paramref name="block"/> (a checkpointed block's forward pass, recording off) with its results lent by the
    /// recording arena of this thread, then takes back at once every array lent meanwhile except those that hold the
    /// block's outputs, which stay lent with the graph: the block's discarded activations serve the next block instead
    /// of waiting for the garbage collector. Without a recording arena it just runs <paramref name="block"/>.
    /// </summary>
    public static Tensor[] RunDiscardingActivations(Func<Tensor[]> block)
    {
        var arena = t_recording;
        if (arena is null) return block();
        int mark;
        lock (arena.Pool) mark = arena._lent.Count;
        bool outer = t_lendWithoutRecording;
        t_lendWithoutRecording = true;
        Tensor[] outputs;
        try
        {
            outputs = block();
        }
        finally
        {
            t_lendWithoutRecording = outer;
        }
        var kept = new HashSet<object>(outputs.Select(o => o.Storage), ReferenceEqualityComparer.Instance);
        lock (arena.Pool)
        {
            var lent = arena._lent;
            int write = mark;
            for (int read = mark; read < lent.Count; read++)
            {
                if (kept.Contains(lent[read])) lent[write++] = lent[read];
                else arena.Pool.Return(lent[read]);
            }
            lent.RemoveRange(write, lent.Count - write);
        }
        return outputs;
    }

    /// <summary>Returns every array lent since the last <see cref="Attach"/> (after a failed forward pass).</summary>
    public void ReleaseUnattached()
    {
        List<float[]> lent;
        lock (Pool) (lent, _lent) = (_lent, []);
        ReturnAll(lent);
    }

    internal void ReturnAll(List<float[]> buffers)
    {
        foreach (var buffer in buffers) Pool.Return(buffer);
    }

    private float[] Lend(int length, bool zeroed)
    {
        var buffer = Pool.Rent(length, zeroed);
        lock (Pool) _lent.Add(buffer);
        return buffer;
    }

    /// <summary>The scope of <see cref="Record"/>; restores the previous recording arena when disposed.</summary>
    internal readonly struct RecordingScope : IDisposable
    {
        private readonly ActivationArena? _previous;

        internal RecordingScope(ActivationArena arena)
        {
            _previous = t_recording;
            t_recording = arena;
        }

        public void Dispose() => t_recording = _previous;
    }
}

/// <summary>The arrays a graph's results took from <paramref name="Arena"/>, released after its backward pass.</summary>
internal sealed record GraphBuffers(ActivationArena Arena, List<float[]> Buffers);
