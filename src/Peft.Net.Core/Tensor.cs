using System.Runtime.CompilerServices;
using Peft.Net.Core.Autograd;

namespace Peft.Net.Core;

/// <summary>
/// A dense, row-major, contiguous n-dimensional array with an optional gradient.
/// Compute is float32; frozen weights may be stored as F16 or BF16 (see <see cref="DType"/>), in which
/// case only conversion, reading and the matrix-multiply weight operand accept them.
/// </summary>
/// <remarks>
/// Views (<see cref="Reshape"/>, <see cref="Slice"/>, <see cref="Detach"/>) share storage with their source.
/// Operations that build the autograd graph live in <see cref="Ops"/> and in operator overloads.
/// </remarks>
public sealed partial class Tensor
{
    private readonly int[] _shape;
    private bool _requiresGrad;

    /// <summary>Backing array: <c>float[]</c>, <c>Half[]</c>, <c>BFloat16[]</c>, <c>byte[]</c>, <c>sbyte[]</c>, <c>int[]</c>, <c>long[]</c> or <c>bool[]</c>.</summary>
    internal readonly Array Storage;

    /// <summary>Index of the first element in <see cref="Storage"/>.</summary>
    internal readonly int Offset;

    /// <summary>The node that produced this tensor, or null for a leaf.</summary>
    internal AutogradNode? Node { get; private set; }

    internal Tensor(Array storage, int offset, int[] shape, DType dtype)
    {
        long count = CheckShape(shape);
        if (offset < 0 || offset + count > storage.Length)
            throw new ArgumentException($"Storage of {storage.Length} elements cannot hold {count} elements at offset {offset}.");
        Storage = storage;
        Offset = offset;
        _shape = shape;
        Count = (int)count;
        DType = dtype;
    }

    /// <summary>Storage element type.</summary>
    public DType DType { get; }

    /// <summary>Number of elements (product of the shape).</summary>
    public int Count { get; }

    /// <summary>The shape; a scalar has rank 0.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>An optional name used in error messages (set it to a parameter's dotted path to have errors name it).</summary>
    public string? Name { get; set; }

    /// <summary>Size of dimension <paramref name="dim"/>; negative values count from the end.</summary>
    public int Dim(int dim) => _shape[NormalizeDim(dim)];

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>
    /// Whether gradients flow to this tensor. Settable on leaves only; results of operations on tensors that
    /// require gradients require them too (unless recorded under <see cref="NoGrad"/>).
    /// </summary>
    /// <exception cref="InvalidOperationException">Set on a non-leaf, or on a non-F32 tensor.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (Node is not null)
                throw new InvalidOperationException("RequiresGrad can only be set on a leaf tensor; use Detach() first.");
            if (value && DType != DType.F32)
                throw new InvalidOperationException($"Only F32 tensors can require gradients; {Describe()} is {DType}.");
            _requiresGrad = value;
        }
    }

    /// <summary>True when the tensor was not produced by a recorded operation.</summary>
    public bool IsLeaf => Node is null;

    /// <summary>
    /// The accumulated gradient (same shape, F32). Leaves accumulate across <see cref="Backward"/> calls until
    /// cleared; intermediate results keep theirs only while the backward pass needs it.
    /// </summary>
    public Tensor? Grad { get; set; }

    /// <summary>The elements as a float span. Mutating it bypasses autograd.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not F32.</exception>
    public Span<float> AsSpan()
    {
        if (Storage is float[] data)
            return data.AsSpan(Offset, Count);
        throw new InvalidOperationException($"{Describe()} is {DType}; call To(DType.F32) to compute with it.");
    }

    /// <summary>The elements as a span of the storage type <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match the storage type.</exception>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        if (Storage is T[] data)
            return data.AsSpan(Offset, Count);
        throw new InvalidOperationException($"{Describe()} stores {DType}, not {typeof(T).Name}.");
    }

    /// <summary>The single value of a one-element tensor, as float.</summary>
    public float Item()
    {
        if (Count != 1)
            throw new InvalidOperationException($"Item() needs exactly one element; {Describe()} has {Count}.");
        return DType == DType.F32 ? AsSpan()[0] : To(DType.F32).AsSpan()[0];
    }

    /// <summary>A copy of the elements as a new float array (converting from F16/BF16).</summary>
    public float[] ToArray() => DType == DType.F32 ? AsSpan().ToArray() : To(DType.F32).AsSpan().ToArray();

    /// <summary>A short description such as <c>"tensor 'w' [4, 8] F32"</c> for error messages.</summary>
    public string Describe() =>
        $"tensor{(Name is null ? "" : $" '{Name}'")} [{string.Join(", ", _shape)}] {DType}";

    /// <inheritdoc/>
    public override string ToString() => Describe();

    internal void SetNode(AutogradNode node)
    {
        Node = node;
        _requiresGrad = true;
    }

    internal int NormalizeDim(int dim)
    {
        int d = dim < 0 ? dim + Rank : dim;
        if ((uint)d >= (uint)Rank)
            throw new ArgumentOutOfRangeException(nameof(dim), $"Dimension {dim} is out of range for {Describe()}.");
        return d;
    }

    internal static long CheckShape(ReadOnlySpan<int> shape)
    {
        long count = 1;
        foreach (int size in shape)
        {
            if (size < 0)
                throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] has a negative dimension.");
            count *= size;
            if (count > Array.MaxLength)
                throw new ArgumentException($"Shape [{string.Join(", ", shape.ToArray())}] has more than {Array.MaxLength} elements.");
        }
        return count;
    }

    /// <summary>True when both shapes are equal.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool SameShape(Tensor other) => _shape.AsSpan().SequenceEqual(other._shape);

    /// <summary>Product of dimensions [0, dim) — the "rows" when the tensor is seen as [outer, inner].</summary>
    internal int OuterCount(int dim)
    {
        int n = 1;
        for (int i = 0; i < dim; i++) n *= _shape[i];
        return n;
    }
}
