using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>
    /// <c>xᵉ</c> elementwise for a scalar exponent. Exponents 2, 3, ½, −½, −1, −2 take exact shortcuts (x·x, √x, …)
    /// as PyTorch does; others follow <see cref="MathF.Pow"/> (negative bases with fractional exponents give NaN).
    /// Gradient e·x^(e−1). Recorded by autograd.
    /// </summary>
    public static Tensor Pow(Tensor x, float exponent) => Power(x, exponent, "pow");

    /// <summary><c>x²</c> elementwise. Recorded by autograd.</summary>
    public static Tensor Square(Tensor x) => Power(x, 2f, "square");

    /// <summary><c>√x</c> elementwise (NaN for x &lt; 0). Recorded by autograd.</summary>
    public static Tensor Sqrt(Tensor x) => Power(x, 0.5f, "sqrt");

    /// <summary><c>1/√x</c> elementwise (computed as 1 / sqrt(x), correctly rounded twice). Recorded by autograd.</summary>
    public static Tensor Rsqrt(Tensor x) => Power(x, -0.5f, "rsqrt");

    /// <summary><c>1/x</c> elementwise. Recorded by autograd.</summary>
    public static Tensor Reciprocal(Tensor x) => Power(x, -1f, "reciprocal");

    private static Tensor Power(Tensor x, float exponent, string name)
    {
        var result = Uninitialized(x.ShapeArray());
        PowerKernels.Forward(x.AsSpan(), exponent, result.AsSpan());
        return GradMode.Record(result, name, g =>
        {
            if (x.RequiresGrad) PowerKernels.Backward(g.AsSpan(), x.AsSpan(), exponent, x.GradBuffer());
        }, x);
    }
}
