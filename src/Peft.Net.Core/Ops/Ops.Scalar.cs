using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary><c>x + s</c> elementwise. Recorded by autograd.</summary>
    public static Tensor AddScalar(Tensor x, float s) => ScalarArithmetic(x, s, ArithmeticOperation.Add, scalarFirst: false, "add_scalar");

    /// <summary><c>x · s</c> elementwise (scaling). Recorded by autograd.</summary>
    public static Tensor MulScalar(Tensor x, float s) => ScalarArithmetic(x, s, ArithmeticOperation.Multiply, scalarFirst: false, "mul_scalar");

    /// <summary><c>x / s</c> elementwise (a true division, not a multiplication by 1/s). Recorded by autograd.</summary>
    public static Tensor DivScalar(Tensor x, float s) => ScalarArithmetic(x, s, ArithmeticOperation.Divide, scalarFirst: false, "div_scalar");

    /// <summary>Reversed subtraction <c>s − x</c> elementwise (PyTorch's <c>rsub</c>). Recorded by autograd.</summary>
    public static Tensor RSub(Tensor x, float s) => ScalarArithmetic(x, s, ArithmeticOperation.Subtract, scalarFirst: true, "rsub");

    /// <summary>Reversed division <c>s / x</c> elementwise. Recorded by autograd.</summary>
    public static Tensor RDiv(Tensor x, float s) => ScalarArithmetic(x, s, ArithmeticOperation.Divide, scalarFirst: true, "rdiv");

    /// <summary><c>−x</c> elementwise. Recorded by autograd.</summary>
    public static Tensor Neg(Tensor x) => ScalarArithmetic(x, -1f, ArithmeticOperation.Multiply, scalarFirst: false, "neg");

    // The scalar is a one-element operand of the broadcasting arithmetic kernels.
    private static Tensor ScalarArithmetic(Tensor x, float s, ArithmeticOperation operation, bool scalarFirst, string name)
    {
        var scalar = new[] { s };
        var result = Uninitialized(x.ShapeArray());
        if (scalarFirst) ArithmeticKernels.Forward(operation, scalar, x.AsSpan(), result.AsSpan());
        else ArithmeticKernels.Forward(operation, x.AsSpan(), scalar, result.AsSpan());
        return GradMode.Record(result, name, g =>
        {
            if (!x.RequiresGrad) return;
            if (scalarFirst) ArithmeticKernels.Backward(operation, g.AsSpan(), scalar, x.AsSpan(), default, x.GradBuffer());
            else ArithmeticKernels.Backward(operation, g.AsSpan(), x.AsSpan(), scalar, x.GradBuffer(), default);
        }, x);
    }
}
