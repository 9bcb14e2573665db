using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Peft.Net.LinearAlgebra;

/// <summary>The plane rotation of two rows used by the one-sided Jacobi SVD, with a scalar reference.</summary>
internal static class JacobiRotation
{
    // a: (Q), b: (Q) → (a, b) ← (c·a − s·b, s·a + c·b)
    public static void Apply(Span<double> a, Span<double> b, double c, double s)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Jacobi rotation: rows of {a.Length} and {b.Length} elements.");
        int k = 0;
        ref double ra = ref a.GetPinnableReference();
        ref double rb = ref b.GetPinnableReference();
        if (Vector512.IsHardwareAccelerated)
        {
            var vc = Vector512.Create(c);
            var vs = Vector512.Create(s);
            for (; k <= a.Length - Vector512<double>.Count; k += Vector512<double>.Count)
            {
                var va = Vector512.LoadUnsafe(ref ra, (nuint)k);
                var vb = Vector512.LoadUnsafe(ref rb, (nuint)k);
                (vc * va - vs * vb).StoreUnsafe(ref ra, (nuint)k);
                (vs * va + vc * vb).StoreUnsafe(ref rb, (nuint)k);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vc = Vector256.Create(c);
            var vs = Vector256.Create(s);
            for (; k <= a.Length - Vector256<double>.Count; k += Vector256<double>.Count)
            {
                var va = Vector256.LoadUnsafe(ref ra, (nuint)k);
                var vb = Vector256.LoadUnsafe(ref rb, (nuint)k);
                (vc * va - vs * vb).StoreUnsafe(ref ra, (nuint)k);
                (vs * va + vc * vb).StoreUnsafe(ref rb, (nuint)k);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var vc = Vector128.Create(c);
            var vs = Vector128.Create(s);
            for (; k <= a.Length - Vector128<double>.Count; k += Vector128<double>.Count)
            {
                var va = Vector128.LoadUnsafe(ref ra, (nuint)k);
                var vb = Vector128.LoadUnsafe(ref rb, (nuint)k);
                (vc * va - vs * vb).StoreUnsafe(ref ra, (nuint)k);
                (vs * va + vc * vb).StoreUnsafe(ref rb, (nuint)k);
            }
        }
        ApplyReference(a[k..], b[k..], c, s);
    }

    // a: (Q), b: (Q) → (a, b) ← (c·a − s·b, s·a + c·b)
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ApplyReference(Span<double> a, Span<double> b, double c, double s)
    {
        for (int k = 0; k < a.Length; k++)
        {
            double ak = a[k], bk = b[k];
            a[k] = c * ak - s * bk;
            b[k] = s * ak + c * bk;
        }
    }
}
