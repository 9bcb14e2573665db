using Peft.Net.Core;
using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Models;

/// <summary>Slices of the last dimension (Phi-3's fused projections, partial rotary), recorded by autograd.</summary>
internal static class LastDimension
{
    // x: (..., N) → (..., length)
    /// <summary>Columns [start, start + length) of the last dimension, as a contiguous copy.</summary>
    public static Tensor Narrow(Tensor x, int start, int length)
    {
        int columns = x.Dim(-1);
        if (start < 0 || length <= 0 || start + length > columns)
            throw new ArgumentOutOfRangeException(nameof(start), $"Columns [{start}, {start + length}) are outside {x.Describe()}.");
        int rows = x.Count / columns;
        var shape = x.ShapeArray();
        shape[^1] = length;
        var result = Tensor.NewResult(shape, zeroed: false);
        var source = x.AsSpan();
        var destination = result.AsSpan();
        for (int r = 0; r < rows; r++)
            source.Slice(r * columns + start, length).CopyTo(destination.Slice(r * length, length));
        return GradMode.Record(result, "narrow", g =>
        {
            if (!x.RequiresGrad) return;
            var grad = x.GradBuffer();
            var gs = g.AsSpan();
            for (int r = 0; r < rows; r++)
                ElementwiseKernels.AddInPlace(grad.Slice(r * columns + start, length), gs.Slice(r * length, length));
        }, x);
    }
}
