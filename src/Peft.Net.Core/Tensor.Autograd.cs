using Peft.Net.Core.Autograd;

namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>
    /// Starts a scope in which operations are not recorded: <c>using (Tensor.NoGrad()) { … }</c>.
    /// Scopes nest and are per thread.
    /// </summary>
    public static NoGradScope NoGrad() => new(true);

    /// <summary>True when operations on the current thread are being recorded for autograd.</summary>
    public static bool IsGradEnabled => GradMode.IsEnabled;

    /// <summary>A tensor sharing this tensor's storage, cut from the graph (a leaf that does not require grad).</summary>
    public Tensor Detach() => new(Storage, Offset, _shape, DType) { Name = Name };

    /// <summary>
    /// The gradient buffer of this tensor, created zero-filled on first use. Backward kernels accumulate into it.
    /// </summary>
    internal Span<float> GradBuffer()
    {
        Grad ??= NewGradient(zeroed: true);
        return Grad.AsSpan();
    }

    /// <summary>
    /// The gradient buffer for a backward kernel that writes every element of it: when this tensor has no gradient
    /// yet, the buffer is created without zero-filling and <paramref name="overwrite"/> is true, and the kernel must
    /// store (not add) every element; otherwise it is <see cref="GradBuffer"/> and the kernel adds.
    /// </summary>
    internal Span<float> GradBufferToWrite(out bool overwrite)
    {
        overwrite = Grad is null;
        if (overwrite) Grad = NewGradient(zeroed: false);
        return Grad!.AsSpan();
    }

    /// <summary>A gradient buffer of this tensor's shape: from the backward pass's pool when one runs on this thread.</summary>
    private Tensor NewGradient(bool zeroed)
    {
        var pool = t_passPool;
        if (pool is not null)
            return new Tensor(pool.Rent(Count, zeroed), 0, (int[])_shape.Clone(), DType.F32) { IsRecyclableGradient = Node is not null };
        var storage = zeroed ? new float[Count] : GC.AllocateUninitializedArray<float>(Count);
        return new Tensor(storage, 0, (int[])_shape.Clone(), DType.F32);
    }

    /// <summary>
    /// Adds <paramref name="gradient"/> (this tensor's shape, F32) into <see cref="Grad"/>. With
    /// <paramref name="handOver"/> the caller gives the buffer away (it will not read or write it again): when this
    /// tensor has no gradient yet, the buffer becomes its gradient without a copy.
    /// </summary>
    internal void AccumulateGrad(Tensor gradient, bool handOver)
    {
        if (handOver && Grad is null && gradient.DType == DType.F32 && gradient.Count == Count)
        {
            gradient.WasHandedOver = true;
            // A leaf keeps the buffer across passes, so it must never go back to a pass's pool.
            Grad = new Tensor(gradient.Storage, gradient.Offset, (int[])_shape.Clone(), DType.F32)
            {
                IsRecyclableGradient = gradient.IsRecyclableGradient && Node is not null,
            };
            return;
        }
        if (gradient.Count != Count)
            throw new ArgumentException($"The gradient {gradient.Describe()} does not match {Describe()}.", nameof(gradient));
        var destination = GradBufferToWrite(out bool overwrite);
        if (overwrite) Kernels.ElementwiseKernels.Copy(gradient.AsSpan(), destination); // a fresh buffer: a copy, no zero-fill and no add
        else Kernels.ElementwiseKernels.AddInPlace(destination, gradient.AsSpan());
    }

    /// <summary>Set on a gradient buffer created by a backward pass for an intermediate tensor (it may be recycled).</summary>
    private bool IsRecyclableGradient { get; init; }

    /// <summary>Set when <see cref="AccumulateGrad"/> gave this gradient buffer to another tensor.</summary>
    private bool WasHandedOver { get; set; }

    /// <summary>The pool that gradient buffers come from and go back to during the backward pass on this thread.</summary>
    [ThreadStatic]
    private static TensorBufferPool? t_passPool;

    /// <summary>Arrays this root's graph took from an <see cref="ActivationArena"/>, released after its backward pass.</summary>
    private GraphBuffers? _graphBuffers;

    /// <summary>Set once a backward pass released this tensor's graph buffers.</summary>
    private bool _graphReleased;

    internal void AttachGraphBuffers(GraphBuffers buffers) => _graphBuffers = buffers;

    /// <summary>
    /// Back-propagates from this tensor. Without <paramref name="gradient"/> the tensor must hold one element
    /// (a scalar loss) and its gradient is taken as 1. Leaves that require gradients accumulate into
    /// <see cref="Grad"/>; intermediate gradients are released once used.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor does not require gradients, or is not a scalar and no gradient was given.</exception>
    /// <exception cref="ArgumentException"><paramref name="gradient"/> has another shape.</exception>
    public void Backward(Tensor? gradient = null)
    {
        if (!RequiresGrad)
            throw new InvalidOperationException($"{Describe()} does not require a gradient: nothing it depends on requires one.");
        if (gradient is null && Count != 1)
            throw new InvalidOperationException($"Backward() without a gradient needs a scalar; {Describe()} has {Count} elements.");
        if (gradient is not null && !gradient.SameShape(this))
            throw new ArgumentException($"The gradient {gradient.Describe()} does not match {Describe()}.", nameof(gradient));

        var order = TopologicalOrder(this);
        TensorBufferPool? arenaPool = null;
        foreach (var tensor in order)
        {
            if (tensor._graphReleased)
                throw new InvalidOperationException(
                    $"A backward pass already ran through the graph of {tensor.Describe()} and its activation buffers were reused; compute it again (one backward pass per forward pass).");
            arenaPool ??= tensor._graphBuffers?.Arena.Pool;
        }
        using var _ = NoGrad();
        var previousPool = t_passPool;
        t_passPool = arenaPool ?? new TensorBufferPool();
        try
        {
            var seed = GradBuffer();
            if (gradient is null) seed[0] += 1f;
            else Kernels.ElementwiseKernels.AddInPlace(seed, gradient.AsSpan());

            // Reverse topological order: a node runs after every consumer of its output has pushed its gradient.
            var pool = t_passPool;
            for (int i = order.Count - 1; i >= 0; i--)
            {
                var tensor = order[i];
                var node = tensor.Node!;
                var grad = tensor.Grad;
                if (grad is null)
                    continue; // no path from the loss reached this tensor
                long started = OpProfile.Enabled ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
                node.Backward(grad);
                if (OpProfile.Enabled) OpProfile.Backward(node.Operation, started);
                tensor.Grad = null; // intermediate results keep no gradient
                if (grad.IsRecyclableGradient && !grad.WasHandedOver)
                    pool.Return((float[])grad.Storage);
            }
        }
        finally
        {
            t_passPool = previousPool;
        }
        // The graph is spent: activations that came from an arena go back for the next step.
        foreach (var tensor in order)
        {
            if (tensor._graphBuffers is not { } buffers) continue;
            tensor._graphBuffers = null;
            tensor._graphReleased = true;
            buffers.Arena.ReleaseGraph(buffers.Buffers);
        }
    }

    /// <summary>Non-leaf tensors reachable from <paramref name="root"/>, each after all of its inputs.</summary>
    private static List<Tensor> TopologicalOrder(Tensor root)
    {
        var order = new List<Tensor>();
        if (root.Node is null)
            return order;
        var visited = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        var stack = new Stack<(Tensor Tensor, int NextInput)>();
        stack.Push((root, 0));
        visited.Add(root);
        while (stack.Count > 0)
        {
            var (tensor, next) = stack.Pop();
            var inputs = tensor.Node!.Inputs;
            if (next < inputs.Length)
            {
                stack.Push((tensor, next + 1));
                var input = inputs[next];
                if (input.Node is not null && visited.Add(input))
                    stack.Push((input, 0));
            }
            else
            {
                order.Add(tensor);
            }
        }
        return order;
    }
}
