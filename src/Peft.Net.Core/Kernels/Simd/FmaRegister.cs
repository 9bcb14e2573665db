using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// The handful of operations a register-tiled kernel needs, on a raw hardware register type (<c>Vector256&lt;float&gt;</c>,
/// <c>Vector512&lt;float&gt;</c>) instead of a wrapper struct: a kernel written once as <c>Kernel&lt;TReg, TOps&gt;</c> keeps
/// its accumulators in registers at every width, where through <see cref="IFloatVector{TSelf}"/>'s wrapper the JIT
/// copied each accumulator after its multiply-add. Only for CPUs where <see cref="IsSupported"/> holds.
/// </summary>
internal interface IFmaRegister<TReg> where TReg : struct
{
    /// <summary>Floats in one register.</summary>
    static abstract int Count { get; }

    /// <summary>Whether this CPU runs the fused multiply-add at this width in hardware.</summary>
    static abstract bool IsSupported { get; }

    static abstract unsafe TReg Load(float* source);

    static abstract unsafe void Store(TReg value, float* destination);

    static abstract TReg Broadcast(float value);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TReg MultiplyAdd(TReg a, TReg b, TReg c);

    static abstract TReg Multiply(TReg a, TReg b);

    /// <summary>The lanes' sum, in the runtime's <c>Sum</c> order (as <see cref="IFloatVector{TSelf}.Sum"/>).</summary>
    static abstract float Sum(TReg value);
}

/// <summary>Which raw-register type stands for a generic <see cref="IFloatVector{TSelf}"/> width.</summary>
internal static class FmaRegisters
{
    /// <summary>
    /// Whether <typeparamref name="TV"/> has a raw-register twin that runs on this CPU: <see cref="Fma256"/> for
    /// <see cref="FloatVector256"/> (AVX + FMA), <see cref="Fma512"/> for <see cref="FloatVector512"/> (AVX-512F).
    /// A kernel that says yes dispatches on <c>typeof(TV) == typeof(FloatVector256)</c> between the two.
    /// </summary>
    public static bool Cover<TV>() where TV : struct, IFloatVector<TV> =>
        typeof(TV) == typeof(FloatVector256) ? Fma256.IsSupported : typeof(TV) == typeof(FloatVector512) && Fma512.IsSupported;
}

/// <summary>8 floats: AVX + FMA.</summary>
internal readonly struct Fma256 : IFmaRegister<Vector256<float>>
{
    public static int Count => 8;

    public static bool IsSupported => Fma.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> Load(float* source) => Vector256.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(Vector256<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> value) => Vector256.Sum(value);
}

/// <summary>16 floats: AVX-512F.</summary>
internal readonly struct Fma512 : IFmaRegister<Vector512<float>>
{
    public static int Count => 16;

    public static bool IsSupported => Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> Load(float* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Store(Vector512<float> value, float* destination) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> value) => Vector512.Sum(value);
}
