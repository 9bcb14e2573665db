using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// The SIMD register widths a width-generic kernel can be specialised for. <see cref="Auto"/> lets the kernel
/// pick the widest one the CPU accelerates (tests name each width to exercise every path on one machine).
/// </summary>
internal enum SimdWidth
{
    /// <summary>The widest hardware-accelerated width that suits the problem.</summary>
    Auto,

    /// <summary>One float at a time: the portable fallback.</summary>
    Scalar,

    /// <summary>4 floats (SSE / AdvSimd).</summary>
    Vector128,

    /// <summary>8 floats (AVX2).</summary>
    Vector256,

    /// <summary>16 floats (AVX-512).</summary>
    Vector512,
}

/// <summary>
/// One SIMD register width seen as a type, so a kernel is written once as a generic method over
/// (<typeparamref name="TVector"/>, an implementation of this interface) and the JIT specialises it per width.
/// </summary>
/// <typeparam name="TVector">The register type: <see cref="Vector512{T}"/>, <see cref="Vector256{T}"/>,
/// <see cref="Vector128{T}"/> of float, or float itself for the scalar fallback.</typeparam>
internal interface IVectorWidth<TVector> where TVector : struct
{
    /// <summary>Floats per register.</summary>
    static abstract int Count { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TVector Zero { get; }

    /// <summary>All lanes <paramref name="value"/>.</summary>
    static abstract TVector Broadcast(float value);

    /// <summary>Reads <see cref="Count"/> floats starting at <paramref name="source"/> (no bounds check).</summary>
    static abstract TVector Load(ref float source);

    /// <summary>Writes <see cref="Count"/> floats starting at <paramref name="destination"/> (no bounds check).</summary>
    static abstract void Store(TVector value, ref float destination);

    /// <summary><paramref name="a"/>·<paramref name="b"/> + <paramref name="addend"/>, fused where the CPU can.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector addend);

    /// <summary>Lane-wise product.</summary>
    static abstract TVector Multiply(TVector a, TVector b);
}

/// <summary>16 floats per register (AVX-512).</summary>
internal readonly struct Width512 : IVectorWidth<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source) => Vector512.LoadUnsafe(ref source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> addend) =>
        Vector512.MultiplyAddEstimate(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
}

/// <summary>8 floats per register (AVX2).</summary>
internal readonly struct Width256 : IVectorWidth<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source) => Vector256.LoadUnsafe(ref source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> addend) =>
        Vector256.MultiplyAddEstimate(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
}

/// <summary>4 floats per register (SSE / AdvSimd).</summary>
internal readonly struct Width128 : IVectorWidth<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source) => Vector128.LoadUnsafe(ref source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination) => value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> addend) =>
        Vector128.MultiplyAddEstimate(a, b, addend);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
}

/// <summary>One float per "register": the portable fallback, and the scalar twin of the vector paths.</summary>
internal readonly struct WidthScalar : IVectorWidth<float>
{
    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float source) => source;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination) => destination = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float addend) => a * b + addend;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;
}
