using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

public class ArithmeticKernelTests
{
    private static readonly ArithmeticOperation[] Operations = Enum.GetValues<ArithmeticOperation>();

    [Fact]
    public void Simd_equals_reference_bitwise_for_equal_shapes_at_every_length()
    {
        foreach (var operation in Operations)
        foreach (int n in TensorAssert.SimdLengths)
        {
            var a = KernelTestData.Values(n, 1);
            var b = KernelTestData.Positive(n, 2);
            var g = KernelTestData.Values(n, 3);
            AssertSimdMatchesReference(operation, a, b, g, $"{operation} n={n}");
        }
    }

    [Fact]
    public void Simd_equals_reference_bitwise_when_a_row_is_broadcast()
    {
        foreach (var operation in Operations)
        foreach (int inner in new[] { 2, 3, 16, 17, 33 })
        foreach (int rows in new[] { 1, 4, 7 })
        {
            int n = inner * rows;
            var full = KernelTestData.Values(n, 4);
            var row = KernelTestData.Positive(inner, 5);
            var g = KernelTestData.Values(n, 6);
            AssertSimdMatchesReference(operation, full, row, g, $"{operation} (O={rows}, I={inner}) ∘ (I)");
            AssertSimdMatchesReference(operation, row, full, g, $"{operation} (I) ∘ (O={rows}, I={inner})");
        }
    }

    [Fact]
    public void A_broadcast_scalar_matches_the_reference_and_its_gradient_is_the_sum()
    {
        foreach (var operation in Operations)
        foreach (int n in TensorAssert.SimdLengths)
        {
            if (n == 0) continue;
            var full = KernelTestData.Positive(n, 7);
            float[] scalar = [1.7f];
            var g = KernelTestData.Values(n, 8);
            foreach (bool scalarFirst in new[] { false, true })
            {
                var a = scalarFirst ? scalar : full;
                var b = scalarFirst ? full : scalar;
                var y = new float[n];
                var yRef = new float[n];
                ArithmeticKernels.Forward(operation, a, b, y);
                ArithmeticKernels.ForwardReference(operation, a, b, yRef);
                TensorAssert.BitEqual(yRef, y, $"{operation} forward n={n}");

                var da = Seeded(a.Length, 9);
                var db = Seeded(b.Length, 10);
                var daRef = (float[])da.Clone();
                var dbRef = (float[])db.Clone();
                ArithmeticKernels.Backward(operation, g, a, b, da, db);
                ArithmeticKernels.BackwardReference(operation, g, a, b, daRef, dbRef);
                // The full operand's gradient is elementwise (bitwise); the scalar's is a sum in another order.
                TensorAssert.BitEqual(scalarFirst ? dbRef : daRef, scalarFirst ? db : da, $"{operation} full grad n={n}");
                TensorAssert.Close(scalarFirst ? daRef : dbRef, scalarFirst ? da : db, atol: 1e-4, rtol: 1e-5, what: $"{operation} scalar grad n={n}");
            }
        }
    }

    [Fact]
    public void Empty_gradient_spans_are_skipped_and_bad_lengths_throw()
    {
        float[] a = [1, 2, 3, 4], b = [5, 6], g = [1, 1, 1, 1];
        var da = new float[4];
        ArithmeticKernels.Backward(ArithmeticOperation.Multiply, g, a, b, da, default);
        Assert.Equal([5f, 6f, 5f, 6f], da);
        Assert.Throws<ArgumentException>(() => ArithmeticKernels.Forward(ArithmeticOperation.Add, a, new float[3], new float[4]));
        Assert.Throws<ArgumentException>(() => ArithmeticKernels.Forward(ArithmeticOperation.Add, a, b, new float[6]));
        Assert.Throws<ArgumentException>(() => ArithmeticKernels.Backward(ArithmeticOperation.Add, g, a, b, new float[3], default));
    }

    private static void AssertSimdMatchesReference(ArithmeticOperation operation, float[] a, float[] b, float[] g, string what)
    {
        int n = Math.Max(a.Length, b.Length);
        var y = new float[n];
        var yRef = new float[n];
        ArithmeticKernels.Forward(operation, a, b, y);
        ArithmeticKernels.ForwardReference(operation, a, b, yRef);
        TensorAssert.BitEqual(yRef, y, what + " forward");

        var da = Seeded(a.Length, 11);
        var db = Seeded(b.Length, 12);
        var daRef = (float[])da.Clone();
        var dbRef = (float[])db.Clone();
        ArithmeticKernels.Backward(operation, g, a, b, da, db);
        ArithmeticKernels.BackwardReference(operation, g, a, b, daRef, dbRef);
        TensorAssert.BitEqual(daRef, da, what + " da");
        TensorAssert.BitEqual(dbRef, db, what + " db");
    }

    private static float[] Seeded(int length, ulong seed) => KernelTestData.Values(length, seed, 1f, extremes: false);
}
