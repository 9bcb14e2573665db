using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Rotary position embedding in Hugging Face Llama's layout (<c>apply_rotary_pos_emb</c> with <c>rotate_half</c>):
    /// <c>y = x·cos[p] + rotate_half(x)·sin[p]</c> where <c>rotate_half([x₁, x₂]) = [−x₂, x₁]</c> splits the last
    /// dimension D in halves and p is the position of the token. x is [..., T, ..., D]: <paramref name="timeDim"/>
    /// (default −2, as in [B, H, T, D]; use 1 for [B, T, H, D]) is the dimension the positions index.
    /// <paramref name="cos"/> and <paramref name="sin"/> are tables [P, D] (see <c>Nn.RotaryEmbedding</c>);
    /// <paramref name="positions"/> holds T positions shared by the batch, or B·T positions ([B, T], one list per
    /// entry of dimension 0). Recorded by autograd: the gradient to x is the inverse rotation; the tables get none.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes do not fit (odd D, tables not [P, D], wrong number of positions) or a table requires a gradient.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A position is outside [0, P); the message names it.</exception>
    public static Tensor Rotary(Tensor x, Tensor cos, Tensor sin, ReadOnlySpan<int> positions, int timeDim = -2)
    {
        var layout = RotaryLayout(x, cos, sin, positions, timeDim);
        var saved = positions.ToArray();
        var y = Uninitialized(x.ShapeArray()); // the kernel writes every element
        RotaryKernels.Forward(y.AsSpan(), x.AsSpan(), cos.AsSpan(), sin.AsSpan(), saved, layout);
        return GradMode.Record(y, "rotary", g =>
        {
            if (!x.RequiresGrad) return;
            var dx = x.GradBufferToWrite(out bool overwrite);
            RotaryKernels.Backward(dx, g.AsSpan(), cos.AsSpan(), sin.AsSpan(), saved, layout, overwrite);
        }, x);
    }

    /// <summary>
    /// <see cref="Rotary(Tensor, Tensor, Tensor, ReadOnlySpan{int}, int)"/> for the consecutive positions
    /// <c>startPosition, startPosition + 1, …, startPosition + T − 1</c> (e.g. the tokens after a key/value cache).
    /// </summary>
    public static Tensor Rotary(Tensor x, Tensor cos, Tensor sin, int startPosition, int timeDim = -2)
    {
        if (x.Rank < 2)
            throw new ArgumentException($"Rotary: the input {x.Describe()} needs rank ≥ 2 ([..., T, ..., D]).");
        var positions = new int[x.Dim(timeDim)];
        for (int t = 0; t < positions.Length; t++) positions[t] = startPosition + t;
        return Rotary(x, cos, sin, positions, timeDim);
    }

    private static RotaryKernels.Layout RotaryLayout(Tensor x, Tensor cos, Tensor sin, ReadOnlySpan<int> positions, int timeDim)
    {
        if (x.Rank < 2)
            throw new ArgumentException($"Rotary: the input {x.Describe()} needs rank ≥ 2 ([..., T, ..., D]).");
        int time = x.NormalizeDim(timeDim);
        if (time == x.Rank - 1)
            throw new ArgumentException($"Rotary: the time dimension {timeDim} of {x.Describe()} cannot be the head dimension (the last).");
        int headDim = x.Dim(-1);
        if (headDim % 2 != 0)
            throw new ArgumentException($"Rotary: the head dimension of {x.Describe()} is {headDim}; rotate_half needs it even.");
        if (cos.Rank != 2 || !cos.SameShape(sin) || cos.Dim(1) != headDim)
            throw new ArgumentException($"Rotary: the tables {cos.Describe()} (cos) and {sin.Describe()} (sin) must both be [P, {headDim}] for {x.Describe()}.");
        if (cos.RequiresGrad || sin.RequiresGrad)
            throw new ArgumentException("Rotary: the cos/sin tables are constants and cannot require gradients; detach them.");

        int batch = time > 0 ? x.Dim(0) : 1;
        int outer = 1, inner = 1;
        for (int i = 1; i < time; i++) outer *= x.Dim(i);
        for (int i = time + 1; i < x.Rank - 1; i++) inner *= x.Dim(i);
        int steps = x.Dim(time);
        bool perBatch = positions.Length != steps;
        if (perBatch && (time == 0 || positions.Length != batch * steps))
            throw new ArgumentException(
                $"Rotary: {positions.Length} positions given for {x.Describe()} with T = {steps} (dimension {time}); give T positions{(time > 0 ? $" or B·T = {batch * steps}" : "")}.");
        int tableRows = cos.Dim(0);
        for (int i = 0; i < positions.Length; i++)
            if ((uint)positions[i] >= (uint)tableRows)
                throw new ArgumentOutOfRangeException(nameof(positions),
                    $"Rotary: position {positions[i]} (index {i}) is outside the cos/sin table of {tableRows} positions; build the table with more positions.");
        return new RotaryKernels.Layout(batch, outer, steps, inner, headDim, perBatch);
    }
}
