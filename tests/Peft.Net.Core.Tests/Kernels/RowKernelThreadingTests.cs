using Peft.Net.Core.Kernels;
using Peft.Net.Core.Kernels.Simd;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Kernels;

/// <summary>
/// The row and element-wise kernels that run on <see cref="ParallelRunner"/>: on problems of many chunks (with
/// tails) each gives bit-identical results on 1 and 2 threads, and still matches its scalar reference.
/// </summary>
public class RowKernelThreadingTests
{
    /// <summary>Runs <paramref name="kernel"/> (which fills fresh outputs from fixed inputs) on 1 and on 2 threads.</summary>
    private static (T One, T Two) OnOneAndTwoThreads<T>(Func<T> kernel)
    {
        int before = ComputeSettings.ThreadCount;
        try
        {
            ComputeSettings.ThreadCount = 1;
            var one = kernel();
            ComputeSettings.ThreadCount = 2;
            var two = kernel();
            return (one, two);
        }
        finally
        {
            ComputeSettings.ThreadCount = before;
        }
    }

    [Fact]
    public void SiluMul_is_bit_identical_on_one_and_two_threads()
    {
        int n = 3 * ChunkedWork.FloatsPerChunk + 21;
        var gate = KernelTestData.Values(n, 1);
        var up = KernelTestData.Values(n, 2, 1f);
        var g = KernelTestData.Values(n, 3, 1f, extremes: false);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var y = new float[n];
            SiluMulKernels.Forward(gate, up, y);
            var dGate = KernelTestData.Values(n, 4, 1f, extremes: false);
            var dUp = KernelTestData.Values(n, 5, 1f, extremes: false);
            SiluMulKernels.Backward(g, gate, up, dGate, dUp);
            var dGateOnly = new float[n];
            SiluMulKernels.Backward(g, gate, up, dGateOnly, default);
            return (y, dGate, dUp, dGateOnly);
        });
        TensorAssert.BitEqual(one.y, two.y, "silu_mul y");
        TensorAssert.BitEqual(one.dGate, two.dGate, "silu_mul dGate");
        TensorAssert.BitEqual(one.dUp, two.dUp, "silu_mul dUp");
        TensorAssert.BitEqual(one.dGateOnly, two.dGateOnly, "silu_mul dGate alone");

        var yRef = new float[n];
        SiluMulKernels.ForwardReference(gate, up, yRef);
        KernelAssert.Close(yRef, two.y, atol: 1e-6, rtol: 1e-6, "silu_mul y vs reference");
        var dGateRef = KernelTestData.Values(n, 4, 1f, extremes: false);
        var dUpRef = KernelTestData.Values(n, 5, 1f, extremes: false);
        SiluMulKernels.BackwardReference(g, gate, up, dGateRef, dUpRef);
        KernelAssert.Close(dGateRef, two.dGate, atol: 1e-6, rtol: 1e-6, "silu_mul dGate vs reference");
        KernelAssert.Close(dUpRef, two.dUp, atol: 1e-6, rtol: 1e-6, "silu_mul dUp vs reference");
    }

    [Fact]
    public void RmsNorm_is_bit_identical_on_one_and_two_threads_at_every_width()
    {
        CheckRmsNorm<FloatVector128>();
        CheckRmsNorm<FloatVector256>();
        CheckRmsNorm<FloatVector512>();
    }

    private static void CheckRmsNorm<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        const int rows = 301, c = 197; // ~8 chunks of rows, 4 chunks of channels for the weight gradient, tails
        string what = $"RmsNorm {typeof(TVector).Name}";
        var x = KernelTestData.Values(rows * c, 10, 2f);
        var residual = KernelTestData.Values(rows * c, 11, 1f);
        var w = KernelTestData.Values(c, 12, 0.5f, extremes: false);
        var dy = KernelTestData.Values(rows * c, 13, 1f, extremes: false);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            float[] y = new float[rows * c], rstd = new float[rows];
            RmsNormKernels.Forward<TVector>(y, rstd, x, w, rows, c, 1e-6f);
            float[] sum = new float[rows * c], addY = new float[rows * c], addRstd = new float[rows];
            RmsNormKernels.AddForward<TVector>(sum, addY, addRstd, residual, x, w, rows, c, 1e-5f);
            var dx = KernelTestData.Values(rows * c, 14, 1f, extremes: false);
            var dw = KernelTestData.Values(c, 15, 1f, extremes: false);
            RmsNormKernels.Backward<TVector>(dx, dw, dy, x, w, rstd, rows, c);
            var dwOnly = new float[c];
            RmsNormKernels.Backward<TVector>(default, dwOnly, dy, x, w, rstd, rows, c);
            return (y, rstd, sum, addY, addRstd, dx, dw, dwOnly);
        });
        TensorAssert.BitEqual(one.y, two.y, what + " y");
        TensorAssert.BitEqual(one.rstd, two.rstd, what + " rstd");
        TensorAssert.BitEqual(one.sum, two.sum, what + " add sum");
        TensorAssert.BitEqual(one.addY, two.addY, what + " add y");
        TensorAssert.BitEqual(one.addRstd, two.addRstd, what + " add rstd");
        TensorAssert.BitEqual(one.dx, two.dx, what + " dx");
        TensorAssert.BitEqual(one.dw, two.dw, what + " dweight");
        TensorAssert.BitEqual(one.dwOnly, two.dwOnly, what + " dweight alone");

        float[] yRef = new float[rows * c], rstdRef = new float[rows];
        RmsNormKernels.ForwardReference(yRef, rstdRef, x, w, rows, c, 1e-6f);
        TensorAssert.Close(yRef, two.y, 1e-6, 1e-5, what + " y vs reference");
        var dxRef = KernelTestData.Values(rows * c, 14, 1f, extremes: false);
        var dwRef = KernelTestData.Values(c, 15, 1f, extremes: false);
        RmsNormKernels.BackwardReference(dxRef, dwRef, dy, x, w, rstdRef, rows, c);
        TensorAssert.Close(dxRef, two.dx, 1e-5, 1e-4, what + " dx vs reference");
        TensorAssert.Close(dwRef, two.dw, 1e-3, 1e-4, what + " dweight vs reference");
    }

    [Fact]
    public void Rotary_is_bit_identical_on_one_and_two_threads_at_every_width()
    {
        CheckRotary<FloatVector128>();
        CheckRotary<FloatVector256>();
        CheckRotary<FloatVector512>();
    }

    private static void CheckRotary<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        const int d = 66, tableRows = 50;
        foreach (bool perBatch in new[] { false, true })
        {
            string what = $"Rotary {typeof(TVector).Name} perBatch={perBatch}";
            var layout = new RotaryKernels.Layout(Batch: 2, Outer: 3, Time: 41, Inner: 4, HeadDim: d, PositionsPerBatch: perBatch);
            var positions = new int[perBatch ? 2 * 41 : 41];
            for (int i = 0; i < positions.Length; i++) positions[i] = (i * 7 + 3) % tableRows;
            var cos = KernelTestData.Values(tableRows * d, 20, 1f, extremes: false);
            var sin = KernelTestData.Values(tableRows * d, 21, 1f, extremes: false);
            var x = KernelTestData.Values((int)layout.Count, 22);
            var (one, two) = OnOneAndTwoThreads(() =>
            {
                var y = new float[x.Length];
                RotaryKernels.Forward<TVector>(y, x, cos, sin, positions, layout);
                var dx = KernelTestData.Values(x.Length, 23, 1f, extremes: false);
                RotaryKernels.Backward<TVector>(dx, x, cos, sin, positions, layout);
                return (y, dx);
            });
            TensorAssert.BitEqual(one.y, two.y, what + " y");
            TensorAssert.BitEqual(one.dx, two.dx, what + " dx");

            var yRef = new float[x.Length];
            RotaryKernels.ForwardReference(yRef, x, cos, sin, positions, layout);
            TensorAssert.Close(yRef, two.y, 1e-5, 1e-6, what + " y vs reference");
            var dxRef = KernelTestData.Values(x.Length, 23, 1f, extremes: false);
            RotaryKernels.BackwardReference(dxRef, x, cos, sin, positions, layout);
            TensorAssert.Close(dxRef, two.dx, 1e-5, 1e-6, what + " dx vs reference");
        }
    }

    [Fact]
    public void CrossEntropy_is_bit_identical_on_one_and_two_threads_at_every_width()
    {
        CheckCrossEntropy<FloatVector128>();
        CheckCrossEntropy<FloatVector256>();
        CheckCrossEntropy<FloatVector512>();
    }

    private static void CheckCrossEntropy<TVector>() where TVector : struct, IFloatVector<TVector>
    {
        const int rows = 157, v = 1003;
        string what = $"CrossEntropy {typeof(TVector).Name}";
        var targets = new int[rows];
        for (int r = 0; r < rows; r++) targets[r] = r % 9 == 4 ? -100 : r * 37 % v;
        var logits = KernelTestData.Values(rows * v, 30, 4f, extremes: false);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var lse = new float[rows];
            double loss = CrossEntropyKernels.Forward<TVector>(lse, logits, targets, -100, v);
            var dlogits = KernelTestData.Values(rows * v, 31, 1f, extremes: false);
            CrossEntropyKernels.Backward<TVector>(dlogits, logits, targets, lse, -100, v, 0.37f);
            return (loss, lse, dlogits);
        });
        Assert.Equal(BitConverter.DoubleToInt64Bits(one.loss), BitConverter.DoubleToInt64Bits(two.loss));
        TensorAssert.BitEqual(one.lse, two.lse, what + " logsumexp");
        TensorAssert.BitEqual(one.dlogits, two.dlogits, what + " dlogits");

        var lseRef = new float[rows];
        double lossRef = CrossEntropyKernels.ForwardReference(lseRef, logits, targets, -100, v);
        Assert.True(Math.Abs(two.loss - lossRef) <= 1e-5 * Math.Abs(lossRef), $"{what}: loss {two.loss} vs {lossRef}");
        TensorAssert.Close(lseRef, two.lse, 1e-5, 1e-6, what + " logsumexp vs reference");
        var dlogitsRef = KernelTestData.Values(rows * v, 31, 1f, extremes: false);
        CrossEntropyKernels.BackwardReference(dlogitsRef, logits, targets, lseRef, -100, v, 0.37f);
        TensorAssert.Close(dlogitsRef, two.dlogits, 1e-6, 1e-5, what + " dlogits vs reference");
    }

    [Fact]
    public void A_transpose_of_a_few_long_rows_moves_every_element()
    {
        // Up to 16 rows run as one row panel of the GEMM's packing (8-row groups, then 4, 2 and 1 rows; columns in
        // 8s, then one by one); 17 rows take the banded loop. Every element must land at its transposed place.
        foreach (int rows in new[] { 1, 2, 3, 4, 5, 8, 9, 12, 16, 17 })
        foreach (int cols in new[] { 1, 7, 8, 9, 300, 512 })
        {
            var source = KernelTestData.Values(rows * cols, 42);
            var transposed = Enumerable.Repeat(float.NaN, rows * cols).ToArray();
            TransposeKernels.Transpose(source, transposed, 1, rows, cols);
            var expected = new float[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++) expected[c * rows + r] = source[r * cols + c];
            TensorAssert.BitEqual(expected, transposed, $"{rows} × {cols}");
        }
    }

    [Fact]
    public void Transpose_is_exact_on_one_and_two_threads()
    {
        const int batch = 3, rows = 101, cols = 297;
        var source = KernelTestData.Values(batch * rows * cols, 40);
        var start = KernelTestData.Values(batch * rows * cols, 41);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var transposed = new float[source.Length];
            TransposeKernels.Transpose(source, transposed, batch, rows, cols);
            var accumulated = (float[])start.Clone();
            TransposeKernels.TransposeAccumulate(source, accumulated, batch, rows, cols);
            return (transposed, accumulated);
        });
        var expected = new float[source.Length];
        var expectedSum = (float[])start.Clone();
        for (int b = 0; b < batch; b++)
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
        {
            int to = (b * cols + c) * rows + r, from = (b * rows + r) * cols + c;
            expected[to] = source[from];
            expectedSum[to] += source[from];
        }
        TensorAssert.BitEqual(expected, one.transposed, "transpose, 1 thread");
        TensorAssert.BitEqual(expected, two.transposed, "transpose, 2 threads");
        TensorAssert.BitEqual(expectedSum, one.accumulated, "transpose-accumulate, 1 thread");
        TensorAssert.BitEqual(expectedSum, two.accumulated, "transpose-accumulate, 2 threads");
    }

    [Fact]
    public void AddInPlace_is_exact_on_one_and_two_threads()
    {
        int n = 5 * ChunkedWork.FloatsPerChunk + 3;
        var source = KernelTestData.Values(n, 50);
        var start = KernelTestData.Values(n, 51);
        var (one, two) = OnOneAndTwoThreads(() =>
        {
            var destination = (float[])start.Clone();
            ElementwiseKernels.AddInPlace(destination, source);
            return destination;
        });
        var expected = (float[])start.Clone();
        ElementwiseKernels.AddInPlaceReference(expected, source);
        TensorAssert.BitEqual(expected, one, "add, 1 thread");
        TensorAssert.BitEqual(expected, two, "add, 2 threads");
    }

    [Fact]
    public void Copy_moves_every_float_on_one_and_two_threads_and_names_a_length_mismatch()
    {
        // Several chunks and a partial last one (handed out over threads), one chunk and less (copied inline).
        foreach (int n in new[] { 5 * ChunkedWork.FloatsPerChunk + 3, ChunkedWork.FloatsPerChunk, 37 })
        {
            var source = KernelTestData.Values(n, 52);
            var (one, two) = OnOneAndTwoThreads(() =>
            {
                var destination = Enumerable.Repeat(float.NaN, n).ToArray();
                ElementwiseKernels.Copy(source, destination);
                return destination;
            });
            TensorAssert.BitEqual(source, one, $"copy of {n}, 1 thread");
            TensorAssert.BitEqual(source, two, $"copy of {n}, 2 threads");
        }
        var error = Assert.Throws<ArgumentException>(() => ElementwiseKernels.Copy(new float[5], new float[6]));
        Assert.Contains("5", error.Message);
    }
}
