namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// A float SIMD register of one fixed width: the single width abstraction of the kernels. Kernels are written once
/// as generic methods over this interface and instantiated for <see cref="FloatVector512"/>,
/// <see cref="FloatVector256"/>, <see cref="FloatVector128"/> and (where a kernel wants one loop body for its
/// scalar fallback too) <see cref="FloatScalar"/>; the JIT specialises each instantiation, so the wrapper costs
/// nothing at run time.
/// </summary>
/// <typeparam name="TSelf">The implementing vector type.</typeparam>
internal interface IFloatVector<TSelf> where TSelf : struct, IFloatVector<TSelf>
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    /// <summary>True when this width runs on hardware instructions on the current machine.</summary>
    static abstract bool IsHardwareAccelerated { get; }

    /// <summary>All lanes zero.</summary>
    static abstract TSelf Zero { get; }

    /// <summary>Every lane set to <paramref name="value"/>.</summary>
    static abstract TSelf Create(float value);

    /// <summary>Loads <see cref="Count"/> floats starting at <paramref name="index"/> (the caller guarantees they exist).</summary>
    static abstract TSelf Load(ReadOnlySpan<float> source, int index);

    /// <summary>Stores the lanes at <paramref name="index"/> (the caller guarantees room for <see cref="Count"/> floats).</summary>
    static abstract void Store(TSelf value, Span<float> destination, int index);

    /// <summary>Reads <see cref="Count"/> floats starting at <paramref name="source"/> (no bounds check).</summary>
    static abstract TSelf Load(ref float source);

    /// <summary>Writes the lanes starting at <paramref name="destination"/> (no bounds check).</summary>
    static abstract void Store(TSelf value, ref float destination);

    /// <summary>Lane-wise sum.</summary>
    static abstract TSelf operator +(TSelf left, TSelf right);

    /// <summary>Lane-wise difference.</summary>
    static abstract TSelf operator -(TSelf left, TSelf right);

    /// <summary>Lane-wise negation.</summary>
    static abstract TSelf operator -(TSelf value);

    /// <summary>Lane-wise product.</summary>
    static abstract TSelf operator *(TSelf left, TSelf right);

    /// <summary><paramref name="a"/>·<paramref name="b"/> + <paramref name="addend"/>, fused where the CPU can.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf addend);

    /// <summary><paramref name="a"/>·<paramref name="b"/> + <paramref name="addend"/> with one rounding (bit-exact everywhere).</summary>
    static abstract TSelf FusedMultiplyAdd(TSelf a, TSelf b, TSelf addend);

    /// <summary>Lane-wise quotient.</summary>
    static abstract TSelf operator /(TSelf left, TSelf right);

    /// <summary>Lane-wise square root.</summary>
    static abstract TSelf Sqrt(TSelf value);

    /// <summary>Each lane's bits ANDed with <paramref name="mask"/> (e.g. to round the mantissa toward zero).</summary>
    static abstract TSelf KeepBits(TSelf value, uint mask);

    /// <summary>Lane-wise maximum.</summary>
    static abstract TSelf Max(TSelf left, TSelf right);

    /// <summary>Lane-wise e^x.</summary>
    static abstract TSelf Exp(TSelf value);

    /// <summary>Sum of all lanes.</summary>
    static abstract float Sum(TSelf value);

    /// <summary>Largest lane.</summary>
    static abstract float MaxAcross(TSelf value);
}
