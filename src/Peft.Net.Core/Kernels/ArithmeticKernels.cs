using System.Runtime.Intrinsics;
using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>The four elementwise arithmetic operations on two tensors.</summary>
internal enum ArithmeticOperation
{
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// <summary>
/// a + b, a − b, a · b, a / b with leading-dimension broadcasting (see <see cref="BroadcastKernels"/>) and their
/// gradients: ∂/∂a = g, g, g·b, g/b and ∂/∂b = g, −g, g·a, −(g/b)·(a/b). Plain IEEE operations, so the SIMD
/// paths equal the references bit for bit.
/// </summary>
internal static class ArithmeticKernels
{
    // a: (O, I) or (I); b: (O, I) or (I); y: (O, I)
    /// <summary>y = a ∘ b.</summary>
    public static void Forward(ArithmeticOperation operation, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        switch (operation)
        {
            case ArithmeticOperation.Add: BroadcastKernels.Forward(default(AddOperator), a, b, y); break;
            case ArithmeticOperation.Subtract: BroadcastKernels.Forward(default(SubtractOperator), a, b, y); break;
            case ArithmeticOperation.Multiply: BroadcastKernels.Forward(default(MultiplyOperator), a, b, y); break;
            case ArithmeticOperation.Divide: BroadcastKernels.Forward(default(DivideOperator), a, b, y); break;
            default: throw new ArgumentOutOfRangeException(nameof(operation));
        }
    }

    // g: (O, I); a, da: shape of a; b, db: shape of b. An empty da/db is not computed.
    /// <summary>da += ∂(a ∘ b)/∂a · g and db += ∂(a ∘ b)/∂b · g, each summed over the rows its operand was repeated.</summary>
    public static void Backward(ArithmeticOperation operation, ReadOnlySpan<float> g, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        Span<float> da, Span<float> db)
    {
        switch (operation)
        {
            case ArithmeticOperation.Add:
                if (!da.IsEmpty) BroadcastKernels.AccumulateGradient(default(UpstreamGradient), g, a, b, da);
                if (!db.IsEmpty) BroadcastKernels.AccumulateGradient(default(UpstreamGradient), g, a, b, db);
                break;
            case ArithmeticOperation.Subtract:
                if (!da.IsEmpty) BroadcastKernels.AccumulateGradient(default(UpstreamGradient), g, a, b, da);
                if (!db.IsEmpty) BroadcastKernels.AccumulateGradient(default(NegatedUpstreamGradient), g, a, b, db);
                break;
            case ArithmeticOperation.Multiply:
                if (!da.IsEmpty) BroadcastKernels.AccumulateGradient(default(MultiplyGradientA), g, a, b, da);
                if (!db.IsEmpty) BroadcastKernels.AccumulateGradient(default(MultiplyGradientB), g, a, b, db);
                break;
            case ArithmeticOperation.Divide:
                if (!da.IsEmpty) BroadcastKernels.AccumulateGradient(default(DivideGradientA), g, a, b, da);
                if (!db.IsEmpty) BroadcastKernels.AccumulateGradient(default(DivideGradientB), g, a, b, db);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(operation));
        }
    }

    /// <summary>Scalar reference of <see cref="Forward"/>.</summary>
    public static void ForwardReference(ArithmeticOperation operation, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) =>
        BroadcastKernels.ForwardReference(operation switch
        {
            ArithmeticOperation.Add => (x, z) => x + z,
            ArithmeticOperation.Subtract => (x, z) => x - z,
            ArithmeticOperation.Multiply => (x, z) => x * z,
            ArithmeticOperation.Divide => (x, z) => x / z,
            _ => throw new ArgumentOutOfRangeException(nameof(operation)),
        }, a, b, y);

    /// <summary>Scalar reference of <see cref="Backward"/>.</summary>
    public static void BackwardReference(ArithmeticOperation operation, ReadOnlySpan<float> g, ReadOnlySpan<float> a, ReadOnlySpan<float> b,
        Span<float> da, Span<float> db)
    {
        Func<float, float, float, float> gradA = operation switch
        {
            ArithmeticOperation.Add or ArithmeticOperation.Subtract => (gi, _, _) => gi,
            ArithmeticOperation.Multiply => (gi, _, bi) => gi * bi,
            ArithmeticOperation.Divide => (gi, _, bi) => gi / bi,
            _ => throw new ArgumentOutOfRangeException(nameof(operation)),
        };
        Func<float, float, float, float> gradB = operation switch
        {
            ArithmeticOperation.Add => (gi, _, _) => gi,
            ArithmeticOperation.Subtract => (gi, _, _) => -gi,
            ArithmeticOperation.Multiply => (gi, ai, _) => gi * ai,
            _ => (gi, ai, bi) => -(gi / bi) * (ai / bi),
        };
        if (!da.IsEmpty) BroadcastKernels.AccumulateGradientReference(gradA, g, a, b, da);
        if (!db.IsEmpty) BroadcastKernels.AccumulateGradientReference(gradB, g, a, b, db);
    }

    // Gradient operators take (g, a, b).

    private readonly struct UpstreamGradient : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => g;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => g;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => g;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => g;
    }

    private readonly struct NegatedUpstreamGradient : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => -g;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => -g;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => -g;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => -g;
    }

    private readonly struct MultiplyGradientA : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => g * b;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => g * b;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => g * b;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => g * b;
    }

    private readonly struct MultiplyGradientB : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => g * a;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => g * a;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => g * a;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => g * a;
    }

    private readonly struct DivideGradientA : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => g / b;
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => g / b;
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => g / b;
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => g / b;
    }

    private readonly struct DivideGradientB : ITernaryOperator
    {
        public float Invoke(float g, float a, float b) => -(g / b) * (a / b);
        public Vector128<float> Invoke(Vector128<float> g, Vector128<float> a, Vector128<float> b) => -(g / b) * (a / b);
        public Vector256<float> Invoke(Vector256<float> g, Vector256<float> a, Vector256<float> b) => -(g / b) * (a / b);
        public Vector512<float> Invoke(Vector512<float> g, Vector512<float> a, Vector512<float> b) => -(g / b) * (a / b);
    }
}
