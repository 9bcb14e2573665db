namespace Peft.Net.Core.Autograd;

/// <summary>
/// Reuses the memory of one training graph in the next. While a <see cref="Record"/> scope is open on a thread
/// and autograd is recording, the results of operations (activations) take their arrays from this arena's pool; the
/// graph's root keeps the list, and when <see cref="Tensor.Backward"/> has run through that graph the arrays go back
/// to the pool, along with the intermediate gradient buffers of the pass. From the second step on, a step of the same
/// shape allocates (almost) nothing, and steps of other shapes reuse arrays of the same size class; the memory kept
/// between steps is bounded (see <see cref="TensorBufferPool"/>).
/// </summary>
/// <remarks>
/// <para>The owner of the scope guarantees that the only tensors to leave it are roots it attaches with
/// <see cref="Recording.Attach"/> and small tensors (below <see cref="MinimumLength"/> elements, never pooled): in practice
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
    private static Recording? t_recording;

    [ThreadStatic]
    private static bool t_lendWithoutRecording;

    /// <summary>The arena recording on this thread, if any (gradient checkpointing recomputes into it).</summary>
    public static ActivationArena? Current => t_recording?.Arena;

    /// <summary>Where released arrays wait for the next step.</summary>
    public TensorBufferPool Pool { get; } = new();

    /// <summary>
    /// An array for an operation's result of <paramref name="length"/> floats: from the recording arena of this
    /// thread when there is one, recording is on and the result is large enough; otherwise a new array.
    /// </summary>
    public static float[] AllocateResult(int length, bool zeroed)
    {
        var recording = t_recording;
        if (recording is not null && length >= MinimumLength && (GradMode.IsEnabled || t_lendWithoutRecording))
            return recording.Lend(length, zeroed);
        return zeroed ? new float[length] : GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>
    /// Starts taking results from this arena on this thread. End it with <see cref="Recording.Attach"/> (the graph
    /// keeps the arrays) or, on failure, by disposing it (the arrays return at once). Each recording keeps its own
    /// list, so threads that record into one arena at the same time never see each other's arrays.
    /// </summary>
    public Recording Record() => new(this);

    /// <summary>
    /// Runs <paramref name="block"/> (a checkpointed block's forward pass, recording off) with its results lent by the
    /// recording of this thread, then takes back at once every array lent meanwhile except those that hold the
    /// block's outputs, which stay lent with the graph: the block's discarded activations serve the next block instead
    /// of waiting for the garbage collector. Without a recording it just runs <paramref name="block"/>.
    /// </summary>
    public static Tensor[] RunDiscardingActivations(Func<Tensor[]> block)
    {
        var recording = t_recording;
        if (recording is null) return block();
        var lent = recording.Lent;
        int mark = lent.Count;
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
        int write = mark;
        for (int read = mark; read < lent.Count; read++)
        {
            if (kept.Contains(lent[read])) lent[write++] = lent[read];
            else recording.Arena.Pool.Return(lent[read]);
        }
        lent.RemoveRange(write, lent.Count - write);
        return outputs;
    }

    /// <summary>
    /// Starts an inference pass (recording off, as under <see cref="Tensor.NoGrad"/>) whose results this arena lends
    /// on this thread; disposing the scope takes every lent array back and ends a working set. Nothing computed inside
    /// may outlive the scope: the caller copies out what it returns (a generation step's last-position logits). A
    /// prefill of fresh arrays first-touches every page of its activations (a page fault and a zeroed page each:
    /// about a fifth of a 128-token prefill here); lent arrays are pages already mapped.
    /// </summary>
    public InferenceScope LendForInference() => new(this);

    /// <summary>
    /// A scratch array of at least <paramref name="length"/> floats for use inside one operation: from the recording
    /// arena's pool when there is one (give it back with <see cref="ReturnScratch"/> to that same pool), else new.
    /// </summary>
    internal static (float[] Array, TensorBufferPool? Pool) RentScratch(int length)
    {
        var pool = t_recording?.Arena.Pool;
        return pool is null ? (GC.AllocateUninitializedArray<float>(length), null) : (pool.Rent(length, zeroed: false), pool);
    }

    /// <summary>Gives back an array from <see cref="RentScratch"/>.</summary>
    internal static void ReturnScratch((float[] Array, TensorBufferPool? Pool) scratch) => scratch.Pool?.Return(scratch.Array);

    internal void ReturnAll(List<float[]> buffers)
    {
        foreach (var buffer in buffers) Pool.Return(buffer);
    }

    /// <summary>A graph's backward pass has ended: its arrays return and the pool's working set closes (see <see cref="TensorBufferPool.EndWorkingSet"/>).</summary>
    internal void ReleaseGraph(List<float[]> buffers)
    {
        ReturnAll(buffers);
        Pool.EndWorkingSet();
    }

    /// <summary>One thread's recording into an arena: the arrays it lent, until a graph takes them or they return.</summary>
    internal sealed class Recording : IDisposable
    {
        private readonly Recording? _previous;
        private bool _ended;

        internal Recording(ActivationArena arena)
        {
            Arena = arena;
            _previous = t_recording;
            t_recording = this;
        }

        /// <summary>The arena the arrays come from and go back to.</summary>
        public ActivationArena Arena { get; }

        /// <summary>Arrays lent by this recording (only its own thread adds to it).</summary>
        internal List<float[]> Lent { get; } = [];

        /// <summary>
        /// Ends the recording and hands its arrays to <paramref name="root"/>'s graph: they return to the pool when a
        /// backward pass through <paramref name="root"/> ends. When <paramref name="root"/> has no graph they return now.
        /// </summary>
        public void Attach(Tensor root)
        {
            End();
            if (root.Node is null) Arena.ReturnAll(Lent);
            else root.AttachGraphBuffers(new GraphBuffers(Arena, Lent));
        }

        /// <summary>Ends the recording; when no graph took its arrays (a failed forward pass) they return to the pool.</summary>
        public void Dispose()
        {
            if (_ended) return;
            End();
            Arena.ReturnAll(Lent);
        }

        internal float[] Lend(int length, bool zeroed)
        {
            var buffer = Arena.Pool.Rent(length, zeroed);
            Lent.Add(buffer);
            return buffer;
        }

        private void End()
        {
            if (_ended)
                throw new InvalidOperationException("This activation recording has already ended.");
            _ended = true;
            if (t_recording == this) t_recording = _previous;
        }
    }

    /// <summary>An inference pass's lending (see <see cref="LendForInference"/>); dispose it on the thread that made it.</summary>
    internal sealed class InferenceScope : IDisposable
    {
        private readonly Recording _recording;
        private readonly bool _outerLending;
        private bool _disposed;

        internal InferenceScope(ActivationArena arena)
        {
            _recording = arena.Record();
            _outerLending = t_lendWithoutRecording;
            t_lendWithoutRecording = true;
        }

        /// <summary>Takes back every array lent during the scope and ends the pool's working set.</summary>
        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            t_lendWithoutRecording = _outerLending;
            _recording.Dispose();
            _recording.Arena.Pool.EndWorkingSet();
        }
    }
}

/// <summary>The arrays a graph's results took from <paramref name="Arena"/>, released after its backward pass.</summary>
internal sealed record GraphBuffers(ActivationArena Arena, List<float[]> Buffers);
