namespace Peft.Net.Core;

/// <summary>
/// A seedable random generator (xoshiro256**, seeded through SplitMix64) used for initialisation,
/// dropout and noise. The same seed gives the same stream on every machine; <see cref="GetState"/> and
/// <see cref="SetState"/> let a training run resume with the exact same stream.
/// </summary>
public sealed class TensorRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spareGaussian;

    /// <summary>Creates a generator from a 64-bit seed.</summary>
    public TensorRandom(ulong seed = 0)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The next 64 uniformly random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>A uniform integer in [0, maxExclusive).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)((NextUInt64() >> 33) % (ulong)maxExclusive);
    }

    /// <summary>A standard normal sample (Box–Muller, both values used).</summary>
    public double NextGaussian()
    {
        if (_spareGaussian is double spare)
        {
            _spareGaussian = null;
            return spare;
        }
        double u1;
        do u1 = NextDouble(); while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareGaussian = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>The full generator state (for checkpoints).</summary>
    public ulong[] GetState() =>
        [_s0, _s1, _s2, _s3, _spareGaussian is double d ? 1UL : 0UL, BitConverter.DoubleToUInt64Bits(_spareGaussian ?? 0)];

    /// <summary>Restores a state returned by <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state does not have 6 elements.</exception>
    public void SetState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 6)
            throw new ArgumentException($"A TensorRandom state has 6 elements, got {state.Length}.", nameof(state));
        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
        _spareGaussian = state[4] != 0 ? BitConverter.UInt64BitsToDouble(state[5]) : null;
    }
}
