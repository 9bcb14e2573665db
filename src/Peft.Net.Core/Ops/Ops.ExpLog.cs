using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary><c>eˣ</c> elementwise (within about 1 ulp). Recorded by autograd.</summary>
    public static Tensor Exp(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        ExpKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "exp", g =>
        {
            if (x.RequiresGrad) ExpKernels.Backward(g.AsSpan(), result.AsSpan(), x.GradBuffer());
        }, x);
    }

    /// <summary>Natural logarithm elementwise (−∞ at 0, NaN below). Recorded by autograd.</summary>
    public static Tensor Log(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        LogKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "log", g =>
        {
            if (x.RequiresGrad) LogKernels.Backward(g.AsSpan(), x.AsSpan(), x.GradBuffer());
        }, x);
    }
}
