using Peft.Net.Core.Autograd;
using Peft.Net.Core.Kernels;

namespace Peft.Net.Core;

public static partial class Ops
{
    /// <summary>SiLU (swish) <c>x·σ(x)</c> elementwise. Recorded by autograd.</summary>
    public static Tensor Silu(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        SiluKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "silu", g =>
        {
            if (x.RequiresGrad) SiluKernels.Backward(g.AsSpan(), x.AsSpan(), x.GradBuffer());
        }, x);
    }

    /// <summary>
    /// SwiGLU's inner product <c>SiLU(gate)·up</c> in one fused pass (forward and backward), without the SiLU
    /// intermediate. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static Tensor SiluMul(Tensor gate, Tensor up)
    {
        if (!gate.SameShape(up))
            throw new ArgumentException($"SiluMul needs equal shapes; got gate {gate.Describe()} and up {up.Describe()}.");
        var result = Uninitialized(gate.ShapeArray());
        SiluMulKernels.Forward(gate.AsSpan(), up.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "silu_mul", g =>
        {
            bool overwriteGate = false, overwriteUp = false;
            var dGate = gate.RequiresGrad ? gate.GradBufferToWrite(out overwriteGate) : default;
            var dUp = up.RequiresGrad ? up.GradBufferToWrite(out overwriteUp) : default;
            // One pass stores or adds both; a fresh buffer beside one that already holds a gradient is zeroed to be added to.
            bool overwrite = (dGate.IsEmpty || overwriteGate) && (dUp.IsEmpty || overwriteUp);
            if (!overwrite && overwriteGate) dGate.Clear();
            if (!overwrite && overwriteUp) dUp.Clear();
            SiluMulKernels.Backward(g.AsSpan(), gate.AsSpan(), up.AsSpan(), dGate, dUp, overwrite);
        }, gate, up);
    }

    /// <summary>
    /// GELU elementwise: exact <c>x·Φ(x)</c>, or PyTorch's tanh approximation. Values match PyTorch's
    /// <c>gelu(x, approximate=…)</c> to float rounding. Recorded by autograd.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="approximation"/> is not a defined value.</exception>
    public static Tensor Gelu(Tensor x, GeluApproximation approximation = GeluApproximation.None)
    {
        if (!Enum.IsDefined(approximation))
            throw new ArgumentOutOfRangeException(nameof(approximation), $"Unknown GELU approximation {approximation}.");
        var result = Uninitialized(x.ShapeArray());
        GeluKernels.Forward(x.AsSpan(), result.AsSpan(), approximation);
        return GradMode.Record(result, approximation == GeluApproximation.Tanh ? "gelu_tanh" : "gelu", g =>
        {
            if (x.RequiresGrad) GeluKernels.Backward(g.AsSpan(), x.AsSpan(), x.GradBuffer(), approximation);
        }, x);
    }

    /// <summary>Logistic sigmoid <c>1/(1 + e^(−x))</c> elementwise. Recorded by autograd.</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        SigmoidKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "sigmoid", g =>
        {
            if (x.RequiresGrad) SigmoidKernels.Backward(g.AsSpan(), result.AsSpan(), x.GradBuffer());
        }, x);
    }

    /// <summary>Hyperbolic tangent elementwise. Recorded by autograd.</summary>
    public static Tensor Tanh(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        TanhKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "tanh", g =>
        {
            if (x.RequiresGrad) TanhKernels.Backward(g.AsSpan(), result.AsSpan(), x.GradBuffer());
        }, x);
    }

    /// <summary><c>max(x, 0)</c> elementwise (NaN stays NaN; the gradient at 0 is 0). Recorded by autograd.</summary>
    public static Tensor Relu(Tensor x)
    {
        var result = Uninitialized(x.ShapeArray());
        ReluKernels.Forward(x.AsSpan(), result.AsSpan());
        return GradMode.Record(result, "relu", g =>
        {
            if (x.RequiresGrad) ReluKernels.Backward(g.AsSpan(), x.AsSpan(), x.GradBuffer());
        }, x);
    }
}
