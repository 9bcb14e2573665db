using System.Runtime.CompilerServices;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// One float behind <see cref="IFloatVector{TSelf}"/>: the portable fallback, so a width-generic kernel's loop body
/// also serves as its scalar path. Multiply-add is <c>a·b + c</c> (two roundings), as plain scalar code.
/// </summary>
internal readonly struct FloatScalar : IFloatVector<FloatScalar>
{
    private readonly float _value;

    private FloatScalar(float value) => _value = value;

    public static int Count => 1;

    /// <summary>Always true: scalar code needs no SIMD unit.</summary>
    public static bool IsHardwareAccelerated => true;

    public static FloatScalar Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Create(float value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Load(ReadOnlySpan<float> source, int index) => new(source[index]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatScalar value, Span<float> destination, int index) => destination[index] = value._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Load(ref float source) => new(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(FloatScalar value, ref float destination) => destination = value._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar operator +(FloatScalar left, FloatScalar right) => new(left._value + right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar operator -(FloatScalar left, FloatScalar right) => new(left._value - right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar operator -(FloatScalar value) => new(-value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar operator *(FloatScalar left, FloatScalar right) => new(left._value * right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar MultiplyAdd(FloatScalar a, FloatScalar b, FloatScalar addend) =>
        new(a._value * b._value + addend._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar FusedMultiplyAdd(FloatScalar a, FloatScalar b, FloatScalar addend) =>
        new(MathF.FusedMultiplyAdd(a._value, b._value, addend._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar operator /(FloatScalar left, FloatScalar right) => new(left._value / right._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Sqrt(FloatScalar value) => new(MathF.Sqrt(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar KeepBits(FloatScalar value, uint mask) =>
        new(BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(value._value) & mask));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Max(FloatScalar left, FloatScalar right) => new(MathF.Max(left._value, right._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FloatScalar Exp(FloatScalar value) => new(MathF.Exp(value._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(FloatScalar value) => value._value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(FloatScalar value) => value._value;
}
