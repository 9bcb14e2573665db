using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// Inverted dropout: in training, each element is zeroed with probability <paramref name="p"/> and the others
    /// are scaled by 1/(1 − p), so the expected value is unchanged; the mask is kept for the backward pass.
    /// Returns <paramref name="x"/> itself when not training or when p = 0, and zeros when p = 1.
    /// The mask is drawn from <paramref name="random"/>, so a seeded generator reproduces it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public static Tensor Dropout(Tensor x, float p, bool training, TensorRandom random)
    {
        if (!(p >= 0f && p <= 1f))
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1]; got {p}.");
        ArgumentNullException.ThrowIfNull(random);
        if (!training || p == 0f)
            return x;
        if (p == 1f)
        {
            _ = x.AsSpan(); // same dtype check as the other paths
            return GradMode.Record(Tensor.Zeros(x.ShapeArray()), "dropout", g =>
            {
                if (x.RequiresGrad) x.GradBuffer(); // a zero gradient: nothing got through
            }, x);
        }
        var mask = Uninitialized(x.ShapeArray());
        DropoutKernels.FillMask(mask.AsSpan(), p, random);
        var result = Uninitialized(x.ShapeArray());
        DropoutKernels.Forward(x.AsSpan(), mask.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "dropout", g =>
        {
            if (x.RequiresGrad) DropoutKernels.Backward(g.AsSpan(), mask.AsSpan(), x.GradBuffer());
        }, x);
    }
}
