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
        Grad ??= Zeros(_shape);
        return Grad.AsSpan();
    }

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
        using var _ = NoGrad();
        var seed = GradBuffer();
        if (gradient is null) seed[0] += 1f;
        else Kernels.ElementwiseKernels.AddInPlace(seed, gradient.AsSpan());

        // Reverse topological order: a node runs after every consumer of its output has pushed its gradient.
        for (int i = order.Count - 1; i >= 0; i--)
        {
            var tensor = order[i];
            var node = tensor.Node!;
            var grad = tensor.Grad;
            if (grad is null)
                continue; // no path from the loss reached this tensor
            node.Backward(grad);
            tensor.Grad = null; // intermediate results keep no gradient
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
