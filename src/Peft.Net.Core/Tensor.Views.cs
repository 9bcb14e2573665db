using Peft.Net.Core.Kernels;
using Peft.Net.Core.Autograd;

namespace Peft.Net.Core;

public sealed partial class Tensor
{
    /// <summary>
    /// A view with a new shape and the same elements (no copy). One dimension may be −1 and is inferred.
    /// Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentException">The element counts differ or more than one dimension is −1.</exception>
    public Tensor Reshape(params int[] shape)
    {
        int[] resolved = ResolveShape(shape);
        var view = new Tensor(Storage, Offset, resolved, DType) { Name = Name };
        var source = this;
        return GradMode.Record(view, "reshape", g =>
        {
            if (source.RequiresGrad) source.AccumulateGrad(g, handOver: true);
        }, this);
    }

    /// <summary>Alias of <see cref="Reshape"/>.</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>
    /// Rows [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>) of the first
    /// dimension, as a view (no copy). Recorded by autograd.
    /// </summary>
    public Tensor Slice(int start, int length)
    {
        if (Rank == 0)
            throw new InvalidOperationException($"Cannot slice the scalar {Describe()}.");
        if (start < 0 || length < 0 || start + length > _shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"Rows [{start}, {start + length}) are outside {Describe()}.");
        int rowSize = _shape[0] == 0 ? 0 : Count / _shape[0];
        var shape = (int[])_shape.Clone();
        shape[0] = length;
        var view = new Tensor(Storage, Offset + start * rowSize, shape, DType) { Name = Name };
        var source = this;
        return GradMode.Record(view, "slice", g =>
        {
            if (source.RequiresGrad)
                ElementwiseKernels.AddInPlace(source.GradBuffer().Slice(start * rowSize, length * rowSize), g.AsSpan());
        }, this);
    }

    /// <summary>A contiguous copy (F32 or any storage type). Recorded by autograd for F32.</summary>
    public Tensor Clone()
    {
        var copy = new Tensor(AllocateStorage(DType, Count), 0, (int[])_shape.Clone(), DType) { Name = Name };
        Array.Copy(Storage, Offset, copy.Storage, 0, Count);
        var source = this;
        return GradMode.Record(copy, "clone", g =>
        {
            if (source.RequiresGrad) source.AccumulateGrad(g, handOver: true);
        }, this);
    }

    /// <summary>
    /// Concatenates F32 tensors along <paramref name="dim"/>; all other dimensions must match.
    /// Recorded by autograd.
    /// </summary>
    public static Tensor Concat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        if (tensors.Count == 0)
            throw new ArgumentException("Concat needs at least one tensor.", nameof(tensors));
        var first = tensors[0];
        int d = first.NormalizeDim(dim);
        int total = 0;
        foreach (var t in tensors)
        {
            if (t.Rank != first.Rank)
                throw new ArgumentException($"Concat: {t.Describe()} and {first.Describe()} differ in rank.");
            for (int i = 0; i < first.Rank; i++)
                if (i != d && t._shape[i] != first._shape[i])
                    throw new ArgumentException($"Concat along {d}: {t.Describe()} and {first.Describe()} differ in dimension {i}.");
            total += t._shape[d];
        }
        var shape = (int[])first._shape.Clone();
        shape[d] = total;
        var result = NewResult(shape);
        int outer = first.OuterCount(d);
        int inner = 1;
        for (int i = d + 1; i < first.Rank; i++) inner *= first._shape[i];
        int resultRow = total * inner;
        var dst = result.AsSpan();
        int columnOffset = 0;
        var offsets = new int[tensors.Count];
        for (int ti = 0; ti < tensors.Count; ti++)
        {
            var t = tensors[ti];
            offsets[ti] = columnOffset;
            int block = t._shape[d] * inner;
            var src = t.AsSpan();
            for (int o = 0; o < outer; o++)
                src.Slice(o * block, block).CopyTo(dst.Slice(o * resultRow + columnOffset, block));
            columnOffset += block;
        }
        var inputs = tensors.ToArray();
        return GradMode.Record(result, "concat", g =>
        {
            var gs = g.AsSpan();
            for (int ti = 0; ti < inputs.Length; ti++)
            {
                var t = inputs[ti];
                if (!t.RequiresGrad) continue;
                int block = t._shape[d] * inner;
                var tg = t.GradBuffer();
                for (int o = 0; o < outer; o++)
                    ElementwiseKernels.AddInPlace(tg.Slice(o * block, block), gs.Slice(o * resultRow + offsets[ti], block));
            }
        }, inputs);
    }

    /// <summary>
    /// Swaps the last two dimensions: [..., R, C] → [..., C, R] (a copy). Recorded by autograd.
    /// </summary>
    public Tensor TransposeLast2()
    {
        if (Rank < 2)
            throw new InvalidOperationException($"TransposeLast2 needs rank ≥ 2; {Describe()} has rank {Rank}.");
        int rows = _shape[^2], cols = _shape[^1];
        int batch = rows * cols == 0 ? 0 : Count / (rows * cols);
        var shape = (int[])_shape.Clone();
        (shape[^2], shape[^1]) = (cols, rows);
        var result = NewResult(shape, zeroed: false); // the transpose writes every element
        TransposeKernels.Transpose(AsSpan(), result.AsSpan(), batch, rows, cols);
        var source = this;
        return GradMode.Record(result, "transpose", g =>
        {
            if (source.RequiresGrad)
                TransposeKernels.TransposeAccumulate(g.AsSpan(), source.GradBuffer(), batch, cols, rows);
        }, this);
    }

    /// <summary>
    /// Gathers rows of the first dimension by index: [N, …] indexed by ids of shape S gives [S…, …].
    /// This is the embedding lookup; its backward scatter-adds into the rows. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is negative or ≥ N (the message names it).</exception>
    public Tensor IndexRows(ReadOnlySpan<int> ids, params int[] idsShape)
    {
        if (Rank < 1)
            throw new InvalidOperationException($"IndexRows needs rank ≥ 1; {Describe()} is a scalar.");
        if (CheckShape(idsShape) != ids.Length)
            throw new ArgumentException($"ids shape [{string.Join(", ", idsShape)}] does not hold {ids.Length} ids.", nameof(idsShape));
        int rows = _shape[0];
        int rowSize = rows == 0 ? 0 : Count / rows;
        var shape = new int[idsShape.Length + Rank - 1];
        idsShape.CopyTo(shape, 0);
        for (int i = 1; i < Rank; i++) shape[idsShape.Length + i - 1] = _shape[i];
        var result = NewResult(shape, zeroed: false); // every row is written below
        var dst = result.AsSpan();
        var idCopy = ids.ToArray();
        for (int i = 0; i < idCopy.Length; i++)
        {
            int id = idCopy[i];
            if ((uint)id >= (uint)rows)
                throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} at position {i} is outside [0, {rows}) of {Describe()}.");
            ReadAsFloat(id * rowSize, dst.Slice(i * rowSize, rowSize));
        }
        var source = this;
        return GradMode.Record(result, "index_rows", g =>
        {
            if (!source.RequiresGrad) return;
            var gs = g.AsSpan();
            var sg = source.GradBuffer();
            for (int i = 0; i < idCopy.Length; i++)
                ElementwiseKernels.AddInPlace(sg.Slice(idCopy[i] * rowSize, rowSize), gs.Slice(i * rowSize, rowSize));
        }, this);
    }

    private int[] ResolveShape(int[] shape)
    {
        var resolved = (int[])shape.Clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (inferred >= 0)
                    throw new ArgumentException($"Reshape of {Describe()}: only one dimension may be -1.");
                inferred = i;
            }
            else if (resolved[i] < 0)
                throw new ArgumentException($"Reshape of {Describe()}: dimension {resolved[i]} is negative.");
            else known *= resolved[i];
        }
        if (inferred >= 0)
        {
            if (known == 0 || Count % known != 0)
                throw new ArgumentException($"Reshape of {Describe()} to [{string.Join(", ", shape)}]: -1 cannot be inferred.");
            resolved[inferred] = (int)(Count / known);
        }
        else if (known != Count)
            throw new ArgumentException($"Reshape of {Describe()} to [{string.Join(", ", shape)}]: {Count} elements do not fit {known}.");
        return resolved;
    }
}
