using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// Float special functions with one overload per vector width (and a scalar one for loop tails), built on eˣ: at 8
/// and 16 floats <see cref="Exp(Vector256{float})"/> and <see cref="Exp(Vector512{float})"/> (<see cref="ExpPolynomial"/>
/// where the CPU has AVX2 and FMA, or AVX-512), at 4 floats the runtime's vectorised <c>Exp</c>. All widths evaluate the
/// same formula; their bits may differ by an ulp.
/// </summary>
/// <remarks>
/// The normal distribution function uses Φ(x) = Q(|x|) for x &lt; 0 and 1 − Q(|x|) otherwise, with the upper tail
/// Q(a) = ½·erfc(a/√2) = ½·t·exp(−a²/2 + P(t)), t = 1/(1 + a/(2√2)) (Numerical Recipes' <c>erfcc</c>, relative
/// error &lt; 1.2e-7 for every a ≥ 0). The exponent −a²/2 is split as −hi²/2 − lo·(a + hi)/2 with hi = a rounded
/// to 12 significant bits, so hi² is exact and Q keeps its relative accuracy (≈ 5e-7 down to Q ≈ 1e-37) instead of
/// losing it to the rounding of a large a²; the price is a second exponential. P is evaluated with
/// <c>MultiplyAddEstimate</c> (fused where the CPU has FMA), so results may differ by an ulp between machines.
/// </remarks>
internal static class VectorMath
{
    private const float HalfInvSqrt2 = 0.35355339059327373f; // t = 1/(1 + z/2), z = a/√2
    private const float InvSqrt2Pi = 0.3989422804014327f;
    private const uint HighBitsMask = 0xFFFFF000u; // keeps 12 of the 24 significant bits
    private const float P0 = -1.26551223f, P1 = 1.00002368f, P2 = 0.37409196f, P3 = 0.09678418f, P4 = -0.18628806f;
    private const float P5 = 0.27886807f, P6 = -1.13520398f, P7 = 1.48851587f, P8 = -0.82215223f, P9 = 0.17087277f;

    // ---- eˣ at 8 and 16 floats: ExpPolynomial where the CPU has the instructions, else the runtime's ----

    /// <summary>eˣ for 8 floats: <see cref="ExpPolynomial.Exp(Vector256{float})"/> (float arithmetic, within 1 ulp) where it runs, else <see cref="Vector256.Exp(Vector256{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x) => ExpPolynomial.IsSupported ? ExpPolynomial.Exp(x) : Vector256.Exp(x);

    /// <summary>eˣ for 16 floats: <see cref="ExpPolynomial.Exp(Vector512{float})"/> where AVX-512 runs it, else <see cref="Vector512.Exp(Vector512{float})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x) => ExpPolynomial.IsSupported512 ? ExpPolynomial.Exp(x) : Vector512.Exp(x);

    // ---- logistic function σ(x) = 1/(1 + e^(−x)); e^(−x) = ∞ gives exactly 0 ----

    public static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x) => Vector128<float>.One / (Vector128<float>.One + Vector128.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(-x));

    // ---- σ(x)·(1 − σ(x)) = 1/(2 + e + 1/e) with e = e^(−x): no cancellation, and 0 (not NaN) when e is 0 or ∞ ----

    public static float SigmoidSlope(float e) => 1f / (2f + e + 1f / e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> SigmoidSlope(Vector128<float> e) => SigmoidSlope<FloatVector128>(e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SigmoidSlope(Vector256<float> e) => SigmoidSlope<FloatVector256>(e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SigmoidSlope(Vector512<float> e) => SigmoidSlope<FloatVector512>(e);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TVector SigmoidSlope<TVector>(TVector e) where TVector : struct, IFloatVector<TVector>
    {
        var one = TVector.Create(1f);
        return one / (TVector.Create(2f) + e + one / e);
    }

    // ---- standard normal Φ(x) and density φ(x) ----

    public static float NormalCdf(float x)
    {
        float tail = UpperTail(MathF.Abs(x), out _, out _);
        return x < 0 ? tail : 1f - tail;
    }

    public static float NormalCdfAndDensity(float x, out float density)
    {
        float tail = UpperTail(MathF.Abs(x), out float head, out float lowPart);
        density = InvSqrt2Pi * head * MathF.Exp(-lowPart);
        return x < 0 ? tail : 1f - tail;
    }

    // Q(a) for a ≥ 0, and the split exponent's pieces e^(−hi²/2) and lo·(a + hi)/2 that the density reuses.
    private static float UpperTail(float a, out float head, out float lowPart)
    {
        float t = 1f / (1f + HalfInvSqrt2 * a);
        float p = P9;
        p = float.MultiplyAddEstimate(p, t, P8);
        p = float.MultiplyAddEstimate(p, t, P7);
        p = float.MultiplyAddEstimate(p, t, P6);
        p = float.MultiplyAddEstimate(p, t, P5);
        p = float.MultiplyAddEstimate(p, t, P4);
        p = float.MultiplyAddEstimate(p, t, P3);
        p = float.MultiplyAddEstimate(p, t, P2);
        p = float.MultiplyAddEstimate(p, t, P1);
        p = float.MultiplyAddEstimate(p, t, P0);
        float hi = BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(a) & HighBitsMask);
        lowPart = 0.5f * (a - hi) * (a + hi);
        head = MathF.Exp(-(0.5f * hi * hi));
        return 0.5f * t * head * MathF.Exp(p - lowPart);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> NormalCdf(Vector128<float> x)
    {
        Vector128<float> tail = UpperTail<FloatVector128>(Vector128.Abs(x), out _, out _);
        return Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), tail, Vector128<float>.One - tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> NormalCdfAndDensity(Vector128<float> x, out Vector128<float> density)
    {
        Vector128<float> tail = UpperTail<FloatVector128>(Vector128.Abs(x), out var head, out var lowPart);
        density = FloatVector128.Create(InvSqrt2Pi) * head * FloatVector128.Exp(-lowPart);
        return Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128<float>.Zero), tail, Vector128<float>.One - tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NormalCdf(Vector256<float> x)
    {
        Vector256<float> tail = UpperTail<FloatVector256>(Vector256.Abs(x), out _, out _);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), tail, Vector256<float>.One - tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> NormalCdfAndDensity(Vector256<float> x, out Vector256<float> density)
    {
        Vector256<float> tail = UpperTail<FloatVector256>(Vector256.Abs(x), out var head, out var lowPart);
        density = FloatVector256.Create(InvSqrt2Pi) * head * FloatVector256.Exp(-lowPart);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), tail, Vector256<float>.One - tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NormalCdf(Vector512<float> x)
    {
        Vector512<float> tail = UpperTail<FloatVector512>(Vector512.Abs(x), out _, out _);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), tail, Vector512<float>.One - tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> NormalCdfAndDensity(Vector512<float> x, out Vector512<float> density)
    {
        Vector512<float> tail = UpperTail<FloatVector512>(Vector512.Abs(x), out var head, out var lowPart);
        density = FloatVector512.Create(InvSqrt2Pi) * head * FloatVector512.Exp(-lowPart);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), tail, Vector512<float>.One - tail);
    }

    // a: one register of values ≥ 0 → Q(a), with e^(−hi²/2) and lo·(a + hi)/2 for the density; every width
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVector UpperTail<TVector>(TVector a, out TVector head, out TVector lowPart)
        where TVector : struct, IFloatVector<TVector>
    {
        var one = TVector.Create(1f);
        var t = one / (one + TVector.Create(HalfInvSqrt2) * a);
        var p = TVector.Create(P9);
        p = TVector.MultiplyAdd(p, t, TVector.Create(P8));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P7));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P6));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P5));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P4));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P3));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P2));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P1));
        p = TVector.MultiplyAdd(p, t, TVector.Create(P0));
        var hi = TVector.KeepBits(a, HighBitsMask);
        var half = TVector.Create(0.5f);
        lowPart = half * (a - hi) * (a + hi);
        head = TVector.Exp(-(half * hi * hi));
        return half * t * head * TVector.Exp(p - lowPart);
    }
}
