using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Peft.Net.Core.Kernels.Simd;

/// <summary>
/// eˣ for 8 or 16 floats in float arithmetic: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts, Cody–Waite), eʳ by a
/// degree-5 minimax polynomial (the Cephes <c>expf</c> coefficients), times 2ⁿ built in the exponent bits. The runtime's
/// <see cref="Vector256.Exp(Vector256{float})"/> widens to double and is about twice as slow; this stays within 1 ulp
/// of the correctly rounded value (tested over a million inputs against <see cref="Math.Exp(double)"/>), and so does
/// <see cref="Vector512.Exp(Vector512{float})"/>; the 16-float version runs the same operations lane by lane as the 8-float
/// one, so both give the same bits. Below −87.34 (where eˣ is subnormal) it returns
/// 0, above 88 +∞ (e⁸⁸ ≈ 1.65·10³⁸, near float's largest), and NaN stays NaN. The 8- and 16-float paths of attention's
/// softmax rows, softmax, cross-entropy, SiLU, sigmoid and GELU take their eˣ from it (<see cref="VectorMath.Exp(Vector256{float})"/>,
/// <see cref="VectorMath.Exp(Vector512{float})"/>):
/// their inputs are never positive (softmax, cross-entropy) or, where they are, the result only moves by less than
/// 10⁻³⁶ (1/(1 + eˣ) with x in (88, 88.72] is 0 instead of about 10⁻³⁸). The element-wise <c>Exp</c> op keeps the
/// runtime's, which is finite up to 88.72.
/// </summary>
internal static class ExpPolynomial
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f, Ln2Low = -2.12194440e-4f;
    private const float Lowest = -87.3365478515625f, Highest = 88f;
    // eʳ ≈ 1 + r + r²·(P0 + r·(P1 + r·(P2 + r·(P3 + r·(P4 + r·P5))))) (the Cephes expf coefficients)
    private const float P0 = 5.0000001201e-1f, P1 = 1.6666665459e-1f, P2 = 4.1665795894e-2f;
    private const float P3 = 8.3334519073e-3f, P4 = 1.3981999507e-3f, P5 = 1.9875691500e-4f;

    /// <summary>Whether the 8-float <see cref="Exp(Vector256{float})"/> runs on this CPU (AVX2 and FMA).</summary>
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Whether the 16-float <see cref="Exp(Vector512{float})"/> runs on this CPU (AVX-512F).</summary>
    public static bool IsSupported512 => Avx512F.IsSupported;

    /// <summary>eˣ for each lane (see the class remarks for its range and accuracy).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        // Max/Min with x second keep a NaN (the instructions return their second operand when one is NaN).
        var clamped = Avx.Min(Vector256.Create(Highest), Avx.Max(Vector256.Create(Lowest), x));
        var n = Avx.RoundToNearestInteger(clamped * Vector256.Create(Log2E));
        var r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2High), clamped);
        r = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Low), r);
        var p = Fma.MultiplyAdd(Vector256.Create(P5), r, Vector256.Create(P4));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(P3));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(P2));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(P1));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(P0));
        var y = Fma.MultiplyAdd(p, r * r, r) + Vector256<float>.One;
        // 2ⁿ for n in [−126, 127]: the biased exponent n + 127 in bits 23–30
        var scale = Avx2.ShiftLeftLogical(Avx.ConvertToVector256Int32(n) + Vector256.Create(127), 23).AsSingle();
        var result = y * scale;
        result = Avx.BlendVariable(result, Vector256<float>.Zero, Avx.CompareLessThan(x, Vector256.Create(Lowest)));
        return Avx.BlendVariable(result, Vector256.Create(float.PositiveInfinity), Avx.CompareGreaterThan(x, Vector256.Create(Highest)));
    }

    /// <summary>eˣ for each of 16 lanes: <see cref="Exp(Vector256{float})"/>'s operations at 16 floats, the same bits a lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var clamped = Avx512F.Min(Vector512.Create(Highest), Avx512F.Max(Vector512.Create(Lowest), x));
        var n = Avx512F.RoundScale(clamped * Vector512.Create(Log2E), 0); // to nearest, ties to even, as vroundps imm 0
        var r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2High), clamped);
        r = Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2Low), r);
        var p = Avx512F.FusedMultiplyAdd(Vector512.Create(P5), r, Vector512.Create(P4));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(P3));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(P2));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(P1));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(P0));
        var y = Avx512F.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        var scale = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(n) + Vector512.Create(127), 23).AsSingle();
        var result = y * scale;
        result = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(Lowest)), Vector512<float>.Zero, result);
        return Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(Highest)), Vector512.Create(float.PositiveInfinity), result);
    }
}
