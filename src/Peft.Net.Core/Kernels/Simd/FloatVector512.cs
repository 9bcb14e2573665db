using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>A <see cref="Vector512{T}"/> of floats behind <see cref="IFloatVector{TSelf}"/>.</summary>
internal readonly struct FloatVector512 : IFloatVector<FloatVector512>
{
    private readonly Vector512<float> _value;

    private FloatVector512(Vector512<float> value) => _value = value;

    /// <summary>Wraps a raw register.</summary>
    public static implicit operator FloatVector512(Vector512<float> value) => new(value);

    /// <summary>The raw register.</summary>
    public static implicit operator Vector512<float>(FloatVector512 value) => value._value;

    public static int Count => Vector512<float>.Count;

    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;

    public static FloatVector512 Zero => new(Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Load(ReadOnlySpan<float> source, int index) =>
        new(Vector512.LoadUnsafe(ref MemoryMarshal.GetReference(source), (nuint)index));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector512 value, Span<float> destination, int index) =>
        value._value.StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Load(ref float source) => new(Vector512.LoadUnsafe(ref source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatVector512 value, ref float destination) => value._value.StoreUnsafe(ref destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator +(FloatVector512 left, FloatVector512 right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator -(FloatVector512 left, FloatVector512 right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator -(FloatVector512 value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator *(FloatVector512 left, FloatVector512 right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 MultiplyAdd(FloatVector512 a, FloatVector512 b, FloatVector512 addend) =>
        new(Vector512.MultiplyAddEstimate(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 FusedMultiplyAdd(FloatVector512 a, FloatVector512 b, FloatVector512 addend) =>
        new(Vector512.FusedMultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 operator /(FloatVector512 left, FloatVector512 right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Sqrt(FloatVector512 value) => new(Vector512.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 KeepBits(FloatVector512 value, uint mask) => new((value._value.AsUInt32() & Vector512.Create(mask)).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Max(FloatVector512 left, FloatVector512 right) => new(Vector512.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatVector512 Exp(FloatVector512 value) => new(VectorMath.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatVector512 value) => Vector512.Sum(value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatVector512 value)
    {
        float max = value._value.GetElement(0);
        for (int i = 1; i < Vector512<float>.Count; i++) max = MathF.Max(max, value._value.GetElement(i));
        return max;
    }
}
