using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>A <see cref="Vector128{T}"/> of floats behind <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct FloatVector128 : IFloatVector<FloatVector128>
{
    private readonly Vector128<float> _value;

    private FloatVector128(Vector128<float> value) => _value = value;

    /// <summary>Wraps a raw register.</summary>
    public static implicit operator FloatVector128(Vector128<float> value) => new(value);

    /// <summary>The raw register.</summary>
    public static implicit operator Vector128<float>(FloatVector128 value) => value._value;

    public static int Count => Vector128<float>.Count;

    public static bool IsHardwareAccelerated => Vector128.IsHardwareAccelerated;

    public static FloatVector128 Zero => new(Vector128<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Create(float value) => new(Vector128.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Load(ReadOnlySpan<float> source, int index) =>
        new(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector128 value, Span<float> destination, int index) =>
        value._value.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Load(ref float source) => new(Vector128.LoadUnsafe(ref source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector128 value, ref float destination) => value._value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator +(FloatVector128 left, FloatVector128 right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator -(FloatVector128 left, FloatVector128 right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator -(FloatVector128 value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator *(FloatVector128 left, FloatVector128 right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 MultiplyAdd(FloatVector128 a, FloatVector128 b, FloatVector128 addend) =>
        new(Vector128.MultiplyAddEstimate(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 FusedMultiplyAdd(FloatVector128 a, FloatVector128 b, FloatVector128 addend) =>
        new(Vector128.FusedMultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 operator /(FloatVector128 left, FloatVector128 right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Sqrt(FloatVector128 value) => new(Vector128.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 KeepBits(FloatVector128 value, uint mask) => new((value._value.AsUInt32() & Vector128.Create(mask)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Max(FloatVector128 left, FloatVector128 right) => new(Vector128.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector128 Exp(FloatVector128 value) => new(Vector128.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector128 value) => Vector128.Sum(value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector128 value)
    {
        float max = value._value.GetElement(0);
        for (int i = 1; i < Vector128<float>.Count; i++) max = MathF.Max(max, value._value.GetElement(i));
        return max;
    }
}
