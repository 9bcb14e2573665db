using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// The one loop that drives every elementwise operator: Vector512 blocks while they fit (when accelerated),
/// then at most one Vector256 and one Vector128 block, then scalars. Inputs and destinations may alias
/// (element i is read before it is written). All spans must have the destination's length.
/// </summary>
internal static class SimdLoop
{
    // x, destination: (N)
    /// <summary>destination[i] = op(x[i]).</summary>
    public static void Map<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> destination) where TOp : struct, IUnaryOperator
    {
        CheckLength(x.Length, destination.Length, nameof(x));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
                op.Invoke(Vector128.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
        for (; i < n; i++)
            At(ref dr, i) = op.Invoke(At(ref xr, i));
    }

    // x, y, destination: (N)
    /// <summary>destination[i] = op(x[i], y[i]).</summary>
    public static void Map<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination)
        where TOp : struct, IBinaryOperator
    {
        CheckLength(x.Length, destination.Length, nameof(x));
        CheckLength(y.Length, destination.Length, nameof(y));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i)).StoreUnsafe(ref dr, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i)).StoreUnsafe(ref dr, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
                op.Invoke(Vector128.LoadUnsafe(ref xr, i), Vector128.LoadUnsafe(ref yr, i)).StoreUnsafe(ref dr, i);
        for (; i < n; i++)
            At(ref dr, i) = op.Invoke(At(ref xr, i), At(ref yr, i));
    }

    // x, y, z, destination: (N)
    /// <summary>destination[i] = op(x[i], y[i], z[i]).</summary>
    public static void Map<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, Span<float> destination)
        where TOp : struct, ITernaryOperator
    {
        CheckLength(x.Length, destination.Length, nameof(x));
        CheckLength(y.Length, destination.Length, nameof(y));
        CheckLength(z.Length, destination.Length, nameof(z));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float dr = ref MemoryMarshal.GetReference(destination);
        nuint n = (nuint)destination.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                op.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i), Vector512.LoadUnsafe(ref zr, i))
                    .StoreUnsafe(ref dr, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                op.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i), Vector256.LoadUnsafe(ref zr, i))
                    .StoreUnsafe(ref dr, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
                op.Invoke(Vector128.LoadUnsafe(ref xr, i), Vector128.LoadUnsafe(ref yr, i), Vector128.LoadUnsafe(ref zr, i))
                    .StoreUnsafe(ref dr, i);
        for (; i < n; i++)
            At(ref dr, i) = op.Invoke(At(ref xr, i), At(ref yr, i), At(ref zr, i));
    }

    // x, y, accumulator: (N)
    /// <summary>accumulator[i] += op(x[i], y[i]).</summary>
    public static void Accumulate<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> accumulator)
        where TOp : struct, IBinaryOperator =>
        Map(new PlusBinary<TOp>(op), x, y, accumulator, accumulator);

    // x, y, z, accumulator: (N)
    /// <summary>accumulator[i] += op(x[i], y[i], z[i]).</summary>
    public static void Accumulate<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z, Span<float> accumulator)
        where TOp : struct, ITernaryOperator
    {
        CheckLength(x.Length, accumulator.Length, nameof(x));
        CheckLength(y.Length, accumulator.Length, nameof(y));
        CheckLength(z.Length, accumulator.Length, nameof(z));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float ar = ref MemoryMarshal.GetReference(accumulator);
        nuint n = (nuint)accumulator.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
                (Vector512.LoadUnsafe(ref ar, i) + op.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i),
                    Vector512.LoadUnsafe(ref zr, i))).StoreUnsafe(ref ar, i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                (Vector256.LoadUnsafe(ref ar, i) + op.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i),
                    Vector256.LoadUnsafe(ref zr, i))).StoreUnsafe(ref ar, i);
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
                (Vector128.LoadUnsafe(ref ar, i) + op.Invoke(Vector128.LoadUnsafe(ref xr, i), Vector128.LoadUnsafe(ref yr, i),
                    Vector128.LoadUnsafe(ref zr, i))).StoreUnsafe(ref ar, i);
        for (; i < n; i++)
            At(ref ar, i) += op.Invoke(At(ref xr, i), At(ref yr, i), At(ref zr, i));
    }

    // x, y, z, first, second: (N)
    /// <summary>(first[i], second[i]) += op(x[i], y[i], z[i]) — a backward pass that yields two gradients at once.</summary>
    public static void AccumulatePair<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z,
        Span<float> first, Span<float> second) where TOp : struct, ITernaryPairOperator =>
        Pair(op, x, y, z, first, second, accumulate: true);

    // x, y, z, first, second: (N)
    /// <summary>(first[i], second[i]) = op(x[i], y[i], z[i]): the two gradients stored into fresh buffers.</summary>
    public static void MapPair<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z,
        Span<float> first, Span<float> second) where TOp : struct, ITernaryPairOperator =>
        Pair(op, x, y, z, first, second, accumulate: false);

    // x, y, z, first, second: (N); accumulate: add into first and second, else store
    private static void Pair<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> z,
        Span<float> first, Span<float> second, bool accumulate) where TOp : struct, ITernaryPairOperator
    {
        CheckLength(x.Length, first.Length, nameof(x));
        CheckLength(y.Length, first.Length, nameof(y));
        CheckLength(z.Length, first.Length, nameof(z));
        CheckLength(second.Length, first.Length, nameof(second));
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float zr = ref MemoryMarshal.GetReference(z);
        ref float fr = ref MemoryMarshal.GetReference(first);
        ref float sr = ref MemoryMarshal.GetReference(second);
        nuint n = (nuint)first.Length, i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 16 <= n; i += 16)
            {
                var (a, b) = op.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i), Vector512.LoadUnsafe(ref zr, i));
                // Store the first before reading the second: the two may be one buffer (both gradients to one tensor).
                (accumulate ? Vector512.LoadUnsafe(ref fr, i) + a : a).StoreUnsafe(ref fr, i);
                (accumulate ? Vector512.LoadUnsafe(ref sr, i) + b : b).StoreUnsafe(ref sr, i);
            }
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
            {
                var (a, b) = op.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i), Vector256.LoadUnsafe(ref zr, i));
                // Store the first before reading the second: the two may be one buffer (both gradients to one tensor).
                (accumulate ? Vector256.LoadUnsafe(ref fr, i) + a : a).StoreUnsafe(ref fr, i);
                (accumulate ? Vector256.LoadUnsafe(ref sr, i) + b : b).StoreUnsafe(ref sr, i);
            }
        if (Vector128.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
            {
                var (a, b) = op.Invoke(Vector128.LoadUnsafe(ref xr, i), Vector128.LoadUnsafe(ref yr, i), Vector128.LoadUnsafe(ref zr, i));
                // Store the first before reading the second: the two may be one buffer (both gradients to one tensor).
                (accumulate ? Vector128.LoadUnsafe(ref fr, i) + a : a).StoreUnsafe(ref fr, i);
                (accumulate ? Vector128.LoadUnsafe(ref sr, i) + b : b).StoreUnsafe(ref sr, i);
            }
        for (; i < n; i++)
        {
            var (a, b) = op.Invoke(At(ref xr, i), At(ref yr, i), At(ref zr, i));
            At(ref fr, i) = accumulate ? At(ref fr, i) + a : a;
            At(ref sr, i) = accumulate ? At(ref sr, i) + b : b;   // after the first: they may alias
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref float At(ref float start, nuint index) => ref Unsafe.Add(ref start, index);

    private static void CheckLength(int actual, int expected, string name)
    {
        if (actual != expected)
            throw new ArgumentException($"Span '{name}' has {actual} elements; the destination has {expected}.", name);
    }

    /// <summary>acc + op(x, y), as a ternary operator over (x, y, acc).</summary>
    private readonly struct PlusBinary<TOp>(TOp op) : ITernaryOperator where TOp : struct, IBinaryOperator
    {
        public float Invoke(float x, float y, float acc) => acc + op.Invoke(x, y);
        public Vector128<float> Invoke(Vector128<float> x, Vector128<float> y, Vector128<float> acc) => acc + op.Invoke(x, y);
        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> acc) => acc + op.Invoke(x, y);
        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y, Vector512<float> acc) => acc + op.Invoke(x, y);
    }
}
