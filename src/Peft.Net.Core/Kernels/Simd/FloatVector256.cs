using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>A <see cref="Vector256{T}"/> of floats behind <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct FloatVector256 : IFloatVector<FloatVector256>
{
    private readonly Vector256<float> _value;

    private FloatVector256(Vector256<float> value) => _value = value;

    /// <summary>Wraps a raw register.</summary>
    public static implicit operator FloatVector256(Vector256<float> value) => new(value);

    /// <summary>The raw register.</summary>
    public static implicit operator Vector256<float>(FloatVector256 value) => value._value;

    public static int Count => Vector256<float>.Count;

    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;

    public static FloatVector256 Zero => new(Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Load(ReadOnlySpan<float> source, int index) =>
        new(Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector256 value, Span<float> destination, int index) =>
        value._value.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Load(ref float source) => new(Vector256.LoadUnsafe(ref source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector256 value, ref float destination) => value._value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator +(FloatVector256 left, FloatVector256 right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator -(FloatVector256 left, FloatVector256 right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator -(FloatVector256 value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator *(FloatVector256 left, FloatVector256 right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 MultiplyAdd(FloatVector256 a, FloatVector256 b, FloatVector256 addend) =>
        new(Vector256.MultiplyAddEstimate(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 FusedMultiplyAdd(FloatVector256 a, FloatVector256 b, FloatVector256 addend) =>
        new(Vector256.FusedMultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 operator /(FloatVector256 left, FloatVector256 right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Sqrt(FloatVector256 value) => new(Vector256.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 KeepBits(FloatVector256 value, uint mask) => new((value._value.AsUInt32() & Vector256.Create(mask)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Max(FloatVector256 left, FloatVector256 right) => new(Vector256.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector256 Exp(FloatVector256 value) => new(VectorMath.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector256 value) => Vector256.Sum(value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector256 value)
    {
        float max = value._value.GetElement(0);
        for (int i = 1; i < Vector256<float>.Count; i++) max = MathF.Max(max, value._value.GetElement(i));
        return max;
    }
}
