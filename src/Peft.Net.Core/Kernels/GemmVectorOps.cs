using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The few float-vector operations the dot-product GEMM kernel needs, so one generic kernel body
/// (<see cref="GemmDotKernel"/>) is specialised by the JIT for each vector width.
/// </summary>
internal unsafe interface IGemmVectorOps<TVector> where TVector : struct
{
    static abstract int Count { get; }
    static abstract TVector Load(float* source);
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector addend);
    static abstract float Sum(TVector value);
}

/// <summary>AVX-512: 16 floats, fused multiply-add.</summary>
internal readonly unsafe struct Vector512Ops : IGemmVectorOps<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) =>
        Avx512F.FusedMultiplyAdd(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> value) => Vector512.Sum(value);
}

/// <summary>AVX2 + FMA: 8 floats, fused multiply-add.</summary>
internal readonly unsafe struct Vector256Ops : IGemmVectorOps<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) =>
        Fma.MultiplyAdd(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> value) => Vector256.Sum(value);
}
