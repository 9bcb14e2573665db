using Peft.Net.Core.Kernels;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>SIMD kernels against their scalar (mostly double-precision) references on every SIMD length and tail.</summary>
public class ElementwiseKernelTests
{
    private delegate void Map(ReadOnlySpan<float> x, Span<float> y);

    private delegate void Gradient(ReadOnlySpan<float> g, ReadOnlySpan<float> saved, Span<float> dx);

    [Fact]
    public void Exp_matches_reference() =>
        Check("exp", ExpKernels.Forward, ExpKernels.ForwardReference, ExpKernels.Backward, ExpKernels.BackwardReference,
            n => KernelTestData.Values(n, 21, 4f, extremes: false), savesOutput: true, rtol: 4e-7);

    [Fact]
    public void Log_matches_reference() =>
        Check("log", LogKernels.Forward, LogKernels.ForwardReference, LogKernels.Backward, LogKernels.BackwardReference,
            n => KernelTestData.Positive(n, 22), savesOutput: false, rtol: 4e-7);

    [Fact]
    public void Sigmoid_matches_reference() =>
        Check("sigmoid", SigmoidKernels.Forward, SigmoidKernels.ForwardReference, SigmoidKernels.Backward, SigmoidKernels.BackwardReference,
            n => KernelTestData.Values(n, 23), savesOutput: true, rtol: 1e-6);

    [Fact]
    public void Tanh_matches_reference() =>
        Check("tanh", TanhKernels.Forward, TanhKernels.ForwardReference, TanhKernels.Backward, TanhKernels.BackwardReference,
            n => KernelTestData.Values(n, 24), savesOutput: true, rtol: 1e-6);

    [Fact]
    public void Relu_matches_reference_bitwise()
    {
        Check("relu", ReluKernels.Forward, ReluKernels.ForwardReference, ReluKernels.Backward, ReluKernels.BackwardReference,
            n => KernelTestData.Values(n, 25), savesOutput: false, rtol: 0);
        var y = new float[4];
        ReluKernels.Forward([float.NaN, -1f, 2f, -0f], y);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal([0f, 2f, 0f], y[1..]);
    }

    [Fact]
    public void Silu_matches_reference() =>
        Check("silu", SiluKernels.Forward, SiluKernels.ForwardReference, SiluKernels.Backward, SiluKernels.BackwardReference,
            n => KernelTestData.Values(n, 26), savesOutput: false, rtol: 1e-6);

    [Theory]
    [InlineData(GeluApproximation.None)]
    [InlineData(GeluApproximation.Tanh)]
    public void Gelu_matches_reference(GeluApproximation approximation) =>
        Check($"gelu {approximation}",
            (x, y) => GeluKernels.Forward(x, y, approximation),
            (x, y) => GeluKernels.ForwardReference(x, y, approximation),
            (g, x, dx) => GeluKernels.Backward(g, x, dx, approximation),
            (g, x, dx) => GeluKernels.BackwardReference(g, x, dx, approximation),
            n => KernelTestData.Values(n, 27), savesOutput: false, rtol: 1e-6);

    [Fact]
    public void Exact_gelu_keeps_relative_accuracy_in_the_far_negative_tail()
    {
        // x·Φ(x) down to Φ ≈ 1e-35 (x = −12.4): the split exponent keeps the relative error near float precision.
        var x = Enumerable.Range(0, 1000).Select(i => -0.0125f * i).ToArray();
        var y = new float[x.Length];
        var yRef = new float[x.Length];
        GeluKernels.Forward(x, y, GeluApproximation.None);
        GeluKernels.ForwardReference(x, yRef, GeluApproximation.None);
        KernelAssert.Close(yRef, y, atol: 0, rtol: 1e-6, "gelu tail");
    }

    [Theory]
    [InlineData(2f)]
    [InlineData(3f)]
    [InlineData(0.5f)]
    [InlineData(-0.5f)]
    [InlineData(-1f)]
    [InlineData(-2f)]
    [InlineData(1.7f)]
    [InlineData(1f)]
    [InlineData(0f)]
    public void Power_matches_reference(float exponent) =>
        Check($"pow {exponent}",
            (x, y) => PowerKernels.Forward(x, exponent, y),
            (x, y) => PowerKernels.ForwardReference(x, exponent, y),
            (g, x, dx) => PowerKernels.Backward(g, x, exponent, dx),
            (g, x, dx) => PowerKernels.BackwardReference(g, x, exponent, dx),
            n => KernelTestData.Positive(n, 28), savesOutput: false, rtol: 5e-7);

    [Fact]
    public void SiluMul_matches_reference_for_both_and_for_either_gradient()
    {
        foreach (int n in TensorAssert.SimdLengths)
        {
            var gate = KernelTestData.Values(n, 29);
            var up = KernelTestData.Values(n, 30, 1f);
            var g = KernelTestData.Values(n, 31, 1f, extremes: false);
            var y = new float[n];
            var yRef = new float[n];
            SiluMulKernels.Forward(gate, up, y);
            SiluMulKernels.ForwardReference(gate, up, yRef);
            KernelAssert.Close(yRef, y, atol: 1e-6, rtol: 1e-6, $"silu_mul forward n={n}");

            foreach (var (wantGate, wantUp) in new[] { (true, true), (true, false), (false, true) })
            {
                var dGate = wantGate ? KernelTestData.Values(n, 32, 1f, extremes: false) : [];
                var dUp = wantUp ? KernelTestData.Values(n, 33, 1f, extremes: false) : [];
                var dGateRef = (float[])dGate.Clone();
                var dUpRef = (float[])dUp.Clone();
                SiluMulKernels.Backward(g, gate, up, dGate, dUp);
                SiluMulKernels.BackwardReference(g, gate, up, dGateRef, dUpRef);
                KernelAssert.Close(dGateRef, dGate, atol: 1e-6, rtol: 1e-6, $"silu_mul dGate n={n}");
                KernelAssert.Close(dUpRef, dUp, atol: 1e-6, rtol: 1e-6, $"silu_mul dUp n={n}");

                // Overwrite (a fresh gradient buffer): stores every element, the same values as adding into zeros.
                Array.Fill(dGate, float.NaN);
                Array.Fill(dUp, float.NaN);
                Array.Clear(dGateRef);
                Array.Clear(dUpRef);
                SiluMulKernels.Backward(g, gate, up, dGate, dUp, overwrite: true);
                SiluMulKernels.BackwardReference(g, gate, up, dGateRef, dUpRef);
                KernelAssert.Close(dGateRef, dGate, atol: 1e-6, rtol: 1e-6, $"silu_mul dGate overwrite n={n}");
                KernelAssert.Close(dUpRef, dUp, atol: 1e-6, rtol: 1e-6, $"silu_mul dUp overwrite n={n}");
            }
        }
    }

    [Fact]
    public void Exp_based_activations_hold_where_the_polynomial_exp_saturates()
    {
        // At 8 floats SiLU, sigmoid and SiLU·up take eˣ from ExpPolynomial, which is +∞ above 88 (the runtime's is
        // finite up to 88.72) and 0 below −87.34: a grid across both edges, every lane and the scalar tail. Past the
        // edges the activations are within 1e-35 of the reference (1/(1 + e⁸⁸·⁵) ≈ 4e-39).
        var x = Enumerable.Range(0, 1203).Select(i => -100f + i / 6f).ToArray();
        var ones = Enumerable.Repeat(1f, x.Length).ToArray();
        var y = new float[x.Length];
        var yRef = new float[x.Length];
        void Expect(string what, Action<float[]> run, Action<float[]> reference)
        {
            run(y);
            reference(yRef);
            KernelAssert.Close(yRef, y, atol: 1e-35, rtol: 1e-6, what);
        }
        Expect("silu", r => SiluKernels.Forward(x, r), r => SiluKernels.ForwardReference(x, r));
        Expect("sigmoid", r => SigmoidKernels.Forward(x, r), r => SigmoidKernels.ForwardReference(x, r));
        Expect("silu_mul", r => SiluMulKernels.Forward(x, ones, r), r => SiluMulKernels.ForwardReference(x, ones, r));
        Expect("silu backward", r => { Array.Clear(r); SiluKernels.Backward(ones, x, r); }, r => { Array.Clear(r); SiluKernels.BackwardReference(ones, x, r); });
        Expect("silu_mul dGate", r => { Array.Clear(r); SiluMulKernels.Backward(ones, x, ones, r, []); },
            r => { Array.Clear(r); SiluMulKernels.BackwardReference(ones, x, ones, r, []); });
    }

    [Fact]
    public void Dropout_apply_matches_reference_bitwise() =>
        Check("dropout", (x, y) => DropoutKernels.Forward(x, Mask(x.Length), y), (x, y) => DropoutKernels.ForwardReference(x, Mask(x.Length), y),
            (g, x, dx) => DropoutKernels.Backward(g, Mask(x.Length), dx), (g, x, dx) => DropoutKernels.BackwardReference(g, Mask(x.Length), dx),
            n => KernelTestData.Values(n, 34), savesOutput: false, rtol: 0);

    private static float[] Mask(int n)
    {
        var mask = new float[n];
        DropoutKernels.FillMask(mask, 0.3f, new TensorRandom(35));
        return mask;
    }

    /// <summary>
    /// Forward and backward of a SIMD kernel against its reference on every SIMD length. Backward kernels receive
    /// the forward output (reference-computed) when <paramref name="savesOutput"/>, else the input; dx starts
    /// non-zero so accumulation is checked too. Tolerance: rtol relative plus 1e-7 of the output scale absolute.
    /// </summary>
    private static void Check(string name, Map forward, Map forwardReference, Gradient backward, Gradient backwardReference,
        Func<int, float[]> input, bool savesOutput, double rtol)
    {
        foreach (int n in TensorAssert.SimdLengths)
        {
            var x = input(n);
            var y = new float[n];
            var yRef = new float[n];
            forward(x, y);
            forwardReference(x, yRef);
            double atol = rtol == 0 ? 0 : 1e-7 * Math.Max(1, yRef.Where(float.IsFinite).Select(MathF.Abs).DefaultIfEmpty(0).Max());
            KernelAssert.Close(yRef, y, atol, rtol, $"{name} forward n={n}");

            var g = KernelTestData.Values(n, 99, 1f, extremes: false);
            var dx = KernelTestData.Values(n, 98, 1f, extremes: false);
            var dxRef = (float[])dx.Clone();
            var saved = savesOutput ? yRef : x;
            backward(g, saved, dx);
            backwardReference(g, saved, dxRef);
            double gradAtol = rtol == 0 ? 0 : 1e-7 * Math.Max(1, dxRef.Where(float.IsFinite).Select(MathF.Abs).DefaultIfEmpty(0).Max());
            KernelAssert.Close(dxRef, dx, gradAtol, rtol, $"{name} backward n={n}");
        }
    }
}
