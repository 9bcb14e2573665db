using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

// Adapters that fix one operand of an operator to a scalar, so a broadcast scalar runs through the same loop.

/// <summary>x ↦ op(s, x).</summary>
internal readonly struct BindFirst<TOp>(TOp op, float s) : IUnaryOperator where TOp : struct, IBinaryOperator
{
    public float Invoke(float x) => op.Invoke(s, x);
    public Vector128<float> Invoke(Vector128<float> x) => op.Invoke(Vector128.Create(s), x);
    public Vector256<float> Invoke(Vector256<float> x) => op.Invoke(Vector256.Create(s), x);
    public Vector512<float> Invoke(Vector512<float> x) => op.Invoke(Vector512.Create(s), x);
}

/// <summary>x ↦ op(x, s).</summary>
internal readonly struct BindSecond<TOp>(TOp op, float s) : IUnaryOperator where TOp : struct, IBinaryOperator
{
    public float Invoke(float x) => op.Invoke(x, s);
    public Vector128<float> Invoke(Vector128<float> x) => op.Invoke(x, Vector128.Create(s));
    public Vector256<float> Invoke(Vector256<float> x) => op.Invoke(x, Vector256.Create(s));
    public Vector512<float> Invoke(Vector512<float> x) => op.Invoke(x, Vector512.Create(s));
}

/// <summary>(x, y) ↦ op(x, s, y).</summary>
internal readonly struct BindSecondOfThree<TOp>(TOp op, float s) : IBinaryOperator where TOp : struct, ITernaryOperator
{
    public float Invoke(float x, float y) => op.Invoke(x, s, y);
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => op.Invoke(x, Vector128.Create(s), y);
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => op.Invoke(x, Vector256.Create(s), y);
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => op.Invoke(x, Vector512.Create(s), y);
}

/// <summary>(x, y) ↦ op(x, y, s).</summary>
internal readonly struct BindThirdOfThree<TOp>(TOp op, float s) : IBinaryOperator where TOp : struct, ITernaryOperator
{
    public float Invoke(float x, float y) => op.Invoke(x, y, s);
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => op.Invoke(x, y, Vector128.Create(s));
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => op.Invoke(x, y, Vector256.Create(s));
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => op.Invoke(x, y, Vector512.Create(s));
}
