using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

// Elementwise functions written once per vector width. SimdLoop picks the widest accelerated width at run time
// and finishes the tail with the scalar overload. Operators are structs (the JIT specialises and inlines them);
// fields carry scalar parameters such as a dropout scale or a power's exponent.

/// <summary>An elementwise function of one input.</summary>
internal interface IUnaryOperator
{
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An elementwise function of two inputs.</summary>
internal interface IBinaryOperator
{
    float Invoke(float x, float y);
    Vector128<float> Invoke(Vector128<float> x, Vector128<float> y);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}

/// <summary>An elementwise function of three inputs.</summary>
internal interface ITernaryOperator
{
    float Invoke(float x, float y, float z);
    Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z);
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z);
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z);
}

/// <summary>An elementwise function of three inputs with two results (a backward pass with two gradients).</summary>
internal interface ITernaryPairOperator
{
    (float First, float Second) Invoke(float x, float y, float z);
    (Vector128<float> First, Vector128<float> Second) Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> z);
    (Vector256<float> First, Vector256<float> Second) Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> z);
    (Vector512<float> First, Vector512<float> Second) Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> z);
}
