using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

// The four IEEE operations as operators; kernels reuse them for forward passes and simple gradients.

/// <summary>x + y.</summary>
internal readonly struct AddOperator : IBinaryOperator
{
    public float Invoke(float x, float y) => x + y;
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x + y;
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
}

/// <summary>x − y.</summary>
internal readonly struct SubtractOperator : IBinaryOperator
{
    public float Invoke(float x, float y) => x - y;
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x - y;
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x - y;
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x - y;
}

/// <summary>x · y.</summary>
internal readonly struct MultiplyOperator : IBinaryOperator
{
    public float Invoke(float x, float y) => x * y;
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x * y;
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}

/// <summary>x / y.</summary>
internal readonly struct DivideOperator : IBinaryOperator
{
    public float Invoke(float x, float y) => x / y;
    public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y) => x / y;
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x / y;
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x / y;
}
