using Peft.Net.Core.Kernels;
using Peft.Net.Core.Kernels.Simd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Norms;

/// <summary>
/// Every SIMD kernel of the norms family, at every vector width (128, 256 and 512 bits, whatever the machine
/// accelerates), against its scalar reference on row lengths that hit each width and tail.
/// </summary>
public class NormKernelSimdTests
{
    private const int Rows = 3;

    private static float[] Random(int length, TensorRandom random, float scale = 1f, float offset = 0f)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(random.NextGaussian() * scale + offset);
        return values;
    }

    [Fact]
    public void RmsNorm_forward_backward_and_fused_add_match_the_reference_at_every_width()
    {
        CheckRmsNorm<FloatVector128>();
        CheckRmsNorm<FloatVector256>();
        CheckRmsNorm<FloatVector512>();
    }

    private static void CheckRmsNorm<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        var random = new TensorRandom(11);
        foreach (int c in TensorAssert.SimdLengths)
        {
            string what = $"RmsNorm {typeof(TVector).Name} C={c}";
            var x = Random(Rows * c, random, 2f, 0.3f);
            var residual = Random(Rows * c, random);
            var w = Random(c, random, 0.5f, 1f);
            var dy = Random(Rows * c, random);
            float[] y = new float[Rows * c], yRef = new float[Rows * c], rstd = new float[Rows], rstdRef = new float[Rows];
            RmsNormKernels.Forward<TVector>(y, rstd, x, w, Rows, c, 1e-6f);
            RmsNormKernels.ForwardReference(yRef, rstdRef, x, w, Rows, c, 1e-6f);
            TensorAssert.Close(yRef, y, 1e-6, 1e-5, what + " y");
            TensorAssert.Close(rstdRef, rstd, 0, 1e-5, what + " rstd");

            float[] sum = new float[Rows * c], sumRef = new float[Rows * c];
            RmsNormKernels.AddForward<TVector>(sum, y, rstd, residual, x, w, Rows, c, 1e-5f);
            RmsNormKernels.AddForwardReference(sumRef, yRef, rstdRef, residual, x, w, Rows, c, 1e-5f);
            TensorAssert.BitEqual(sumRef, sum, what + " add sum");
            TensorAssert.Close(yRef, y, 1e-6, 1e-5, what + " add y");

            // Backward accumulates: start both from the same non-zero gradients.
            var dx = Random(Rows * c, random);
            var dw = Random(c, random);
            var dxRef = (float[])dx.Clone();
            var dwRef = (float[])dw.Clone();
            RmsNormKernels.Backward<TVector>(dx, dw, dy, x, w, rstdRef, Rows, c);
            RmsNormKernels.BackwardReference(dxRef, dwRef, dy, x, w, rstdRef, Rows, c);
            TensorAssert.Close(dxRef, dx, 1e-5, 1e-4, what + " dx");
            TensorAssert.Close(dwRef, dw, 1e-5, 1e-4, what + " dweight");

            // Overwrite (a fresh dx buffer): every element stored, the values of adding into zeros; dweight still adds.
            Array.Fill(dx, float.NaN);
            Array.Clear(dxRef);
            var dwBefore = (float[])dw.Clone();
            RmsNormKernels.Backward<TVector>(dx, dw, dy, x, w, rstdRef, Rows, c, overwriteDx: true);
            RmsNormKernels.BackwardReference(dxRef, dwBefore, dy, x, w, rstdRef, Rows, c);
            TensorAssert.Close(dxRef, dx, 1e-5, 1e-4, what + " dx overwrite");
            TensorAssert.Close(dwBefore, dw, 1e-5, 1e-4, what + " dweight beside an overwritten dx");
        }
    }

    [Fact]
    public void LayerNorm_forward_and_backward_match_the_reference_at_every_width_with_and_without_affine()
    {
        CheckLayerNorm<FloatVector128>();
        CheckLayerNorm<FloatVector256>();
        CheckLayerNorm<FloatVector512>();
    }

    private static void CheckLayerNorm<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        var random = new TensorRandom(12);
        foreach (int c in TensorAssert.SimdLengths)
        foreach (bool affine in new[] { true, false })
        {
            string what = $"LayerNorm {typeof(TVector).Name} C={c} affine={affine}";
            var x = Random(Rows * c, random, 3f, 5f);
            var w = affine ? Random(c, random, 0.5f, 1f) : [];
            var b = affine ? Random(c, random) : [];
            var dy = Random(Rows * c, random);
            float[] y = new float[Rows * c], yRef = new float[Rows * c];
            float[] mean = new float[Rows], meanRef = new float[Rows], rstd = new float[Rows], rstdRef = new float[Rows];
            LayerNormKernels.Forward<TVector>(y, mean, rstd, x, w, b, Rows, c, 1e-5f);
            LayerNormKernels.ForwardReference(yRef, meanRef, rstdRef, x, w, b, Rows, c, 1e-5f);
            TensorAssert.Close(yRef, y, 1e-5, 1e-4, what + " y");
            TensorAssert.Close(meanRef, mean, 1e-5, 1e-5, what + " mean");
            TensorAssert.Close(rstdRef, rstd, 0, 1e-4, what + " rstd");

            var dx = Random(Rows * c, random);
            var dw = affine ? Random(c, random) : [];
            var db = affine ? Random(c, random) : [];
            float[] dxRef = (float[])dx.Clone(), dwRef = (float[])dw.Clone(), dbRef = (float[])db.Clone();
            LayerNormKernels.Backward<TVector>(dx, dw, db, dy, x, w, meanRef, rstdRef, Rows, c);
            LayerNormKernels.BackwardReference(dxRef, dwRef, dbRef, dy, x, w, meanRef, rstdRef, Rows, c);
            TensorAssert.Close(dxRef, dx, 1e-5, 1e-4, what + " dx");
            TensorAssert.Close(dwRef, dw, 1e-5, 1e-4, what + " dweight");
            TensorAssert.Close(dbRef, db, 1e-5, 1e-5, what + " dbias");
        }
    }

    [Fact]
    public void Rotary_forward_and_backward_match_the_reference_at_every_width()
    {
        CheckRotary<FloatVector128>();
        CheckRotary<FloatVector256>();
        CheckRotary<FloatVector512>();
    }

    private static void CheckRotary<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        var random = new TensorRandom(13);
        const int positionsInTable = 9;
        foreach (int half in TensorAssert.SimdLengths)
        foreach (bool perBatch in new[] { false, true })
        {
            int d = 2 * half;
            string what = $"Rotary {typeof(TVector).Name} D={d} perBatch={perBatch}";
            var layout = new RotaryKernels.Layout(Batch: 2, Outer: 2, Time: 3, Inner: 2, HeadDim: d, PositionsPerBatch: perBatch);
            int[] positions = perBatch ? [0, 4, 8, 1, 2, 3] : [5, 0, 7];
            var cos = Random(positionsInTable * d, random);
            var sin = Random(positionsInTable * d, random);
            var x = Random((int)layout.Count, random);
            float[] y = new float[x.Length], yRef = new float[x.Length];
            RotaryKernels.Forward<TVector>(y, x, cos, sin, positions, layout);
            RotaryKernels.ForwardReference(yRef, x, cos, sin, positions, layout);
            TensorAssert.Close(yRef, y, 1e-6, 1e-6, what + " y");

            var dx = Random(x.Length, random);
            var dxRef = (float[])dx.Clone();
            RotaryKernels.Backward<TVector>(dx, y, cos, sin, positions, layout);
            RotaryKernels.BackwardReference(dxRef, y, cos, sin, positions, layout);
            TensorAssert.Close(dxRef, dx, 1e-6, 1e-6, what + " dx");

            Array.Fill(dx, float.NaN);   // overwrite: every element stored, the values of adding into zeros
            Array.Clear(dxRef);
            RotaryKernels.Backward<TVector>(dx, y, cos, sin, positions, layout, overwrite: true);
            RotaryKernels.BackwardReference(dxRef, y, cos, sin, positions, layout);
            TensorAssert.Close(dxRef, dx, 1e-6, 1e-6, what + " dx overwrite");
        }
    }

    [Fact]
    public void CrossEntropy_forward_and_backward_match_the_reference_at_every_width()
    {
        CheckCrossEntropy<FloatVector128>();
        CheckCrossEntropy<FloatVector256>();
        CheckCrossEntropy<FloatVector512>();
    }

    private static void CheckCrossEntropy<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        var random = new TensorRandom(14);
        foreach (int v in TensorAssert.SimdLengths)
        {
            if (v == 0) continue; // no class to predict
            string what = $"CrossEntropy {typeof(TVector).Name} V={v}";
            int[] targets = [v - 1, -100, 0, v / 2];
            var logits = Random(targets.Length * v, random, 4f);
            float[] lse = new float[targets.Length], lseRef = new float[targets.Length];
            double loss = CrossEntropyKernels.Forward<TVector>(lse, logits, targets, -100, v);
            double lossRef = CrossEntropyKernels.ForwardReference(lseRef, logits, targets, -100, v);
            Assert.True(Math.Abs(loss - lossRef) <= 1e-5 * Math.Max(1, Math.Abs(lossRef)), $"{what}: loss {loss} vs {lossRef}");
            TensorAssert.Close(lseRef, lse, 1e-5, 1e-6, what + " logsumexp");

            var dlogits = Random(logits.Length, random);
            var dlogitsRef = (float[])dlogits.Clone();
            CrossEntropyKernels.Backward<TVector>(dlogits, logits, targets, lseRef, -100, v, 0.37f);
            CrossEntropyKernels.BackwardReference(dlogitsRef, logits, targets, lseRef, -100, v, 0.37f);
            TensorAssert.Close(dlogitsRef, dlogits, 1e-6, 1e-5, what + " dlogits");
        }
    }

    [Fact]
    public void Kernels_reject_spans_of_the_wrong_length()
    {
        var ex = Assert.Throws<ArgumentException>(() => RmsNormKernels.Forward(new float[6], new float[2], new float[5], new float[3], 2, 3, 1e-6f));
        Assert.Contains("RmsNorm", ex.Message);
        Assert.Throws<ArgumentException>(() => LayerNormKernels.Forward(new float[6], new float[2], new float[2], new float[6], new float[2], default, 2, 3, 1e-5f));
        Assert.Throws<ArgumentException>(() => CrossEntropyKernels.Forward(new float[2], new float[7], new int[2], -100, 3));
        Assert.Throws<ArgumentException>(() => RotaryKernels.Forward(new float[8], new float[8], new float[4], new float[4], new int[2],
            new RotaryKernels.Layout(1, 1, 2, 1, 3, false)));
    }
}
