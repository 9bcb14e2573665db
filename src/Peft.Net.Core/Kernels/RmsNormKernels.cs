using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// RMS normalisation over the last dimension, as Hugging Face's <c>LlamaRMSNorm</c> in float32:
/// <c>y = weight · (x · rstd)</c> with <c>rstd = 1/√(mean(x²) + eps)</c> per row.
/// The SIMD kernels are generic over the vector width and run in parallel chunks of rows (the weight gradient in
/// chunks of channels, each summed over the rows in order), so results do not depend on the thread count; the
/// <c>…Reference</c> methods are the scalar specification.
/// </summary>
internal static unsafe partial class RmsNormKernels
{
    // y, x: (N, C); rstd: (N); weight: (C)
    /// <summary>Normalises each of the <paramref name="rows"/> rows and saves its rstd for the backward pass.</summary>
    public static void Forward(Span<float> y, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        int rows, int channels, float eps)
    {
        if (FloatVector512.IsHardwareAccelerated) Forward<FloatVector512>(y, rstd, x, weight, rows, channels, eps);
        else if (FloatVector256.IsHardwareAccelerated) Forward<FloatVector256>(y, rstd, x, weight, rows, channels, eps);
        else if (FloatVector128.IsHardwareAccelerated) Forward<FloatVector128>(y, rstd, x, weight, rows, channels, eps);
        else ForwardReference(y, rstd, x, weight, rows, channels, eps);
    }

    // sum, y, residual, x: (N, C); rstd: (N); weight: (C)
    /// <summary>
    /// The decoder's "add the residual, then normalise": <c>sum = residual + x</c> and <c>y = RmsNorm(sum)</c>
    /// in one pass over each row.
    /// </summary>
    public static void AddForward(Span<float> sum, Span<float> y, Span<float> rstd, ReadOnlySpan<float> residual,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int rows, int channels, float eps)
    {
        if (FloatVector512.IsHardwareAccelerated) AddForward<FloatVector512>(sum, y, rstd, residual, x, weight, rows, channels, eps);
        else if (FloatVector256.IsHardwareAccelerated) AddForward<FloatVector256>(sum, y, rstd, residual, x, weight, rows, channels, eps);
        else if (FloatVector128.IsHardwareAccelerated) AddForward<FloatVector128>(sum, y, rstd, residual, x, weight, rows, channels, eps);
        else AddForwardReference(sum, y, rstd, residual, x, weight, rows, channels, eps);
    }

    // dx, dy, x: (N, C); dweight, weight: (C); rstd: (N)
    /// <summary>
    /// Accumulates the gradients: <c>dx += rstd·(dy·w − x·rstd²·mean(dy·w·x))</c> and <c>dweight += Σ_rows dy·x·rstd</c>.
    /// An empty <paramref name="dx"/> or <paramref name="dweight"/> skips that gradient. With
    /// <paramref name="overwriteDx"/> dx is stored instead of added (a fresh gradient buffer: no zero-fill, no read).
    /// </summary>
    public static void Backward(Span<float> dx, Span<float> dweight, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int rows, int channels, bool overwriteDx = false)
    {
        if (FloatVector512.IsHardwareAccelerated) Backward<FloatVector512>(dx, dweight, dy, x, weight, rstd, rows, channels, overwriteDx);
        else if (FloatVector256.IsHardwareAccelerated) Backward<FloatVector256>(dx, dweight, dy, x, weight, rstd, rows, channels, overwriteDx);
        else if (FloatVector128.IsHardwareAccelerated) Backward<FloatVector128>(dx, dweight, dy, x, weight, rstd, rows, channels, overwriteDx);
        else BackwardReference(dx, dweight, dy, x, weight, rstd, rows, channels, overwriteDx);
    }

    /// <summary><see cref="Forward"/> at one vector width.</summary>
    internal static void Forward<TVector>(Span<float> y, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        int rows, int channels, float eps) where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(y.Length, rstd.Length, x.Length, weight.Length, rows, channels);
        fixed (float* pY = y, pRstd = rstd, pX = x, pWeight = weight)
        {
            var work = ForwardWork<TVector>.Cached ??= new();
            work.Y = pY;
            work.Rstd = pRstd;
            work.X = pX;
            work.Weight = pWeight;
            work.Rows = rows;
            work.Channels = channels;
            work.Eps = eps;
            work.RunChunks(rows, ChunkedWork.ChunkOf(2L * channels));
        }
    }

    // Rows [start, end) of Forward.
    private static void ForwardRows<TVector>(Span<float> y, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        int channels, float eps, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        for (int r = start; r < end; r++)
        {
            var xr = x.Slice(r * channels, channels);
            float s = InverseRms(SumOfSquares<TVector>(xr), channels, eps);
            rstd[r] = s;
            ScaleByWeight<TVector>(y.Slice(r * channels, channels), xr, s, weight);
        }
    }

    /// <summary><see cref="AddForward"/> at one vector width.</summary>
    internal static void AddForward<TVector>(Span<float> sum, Span<float> y, Span<float> rstd, ReadOnlySpan<float> residual,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int rows, int channels, float eps)
        where TVector : struct, IFloatVector<TVector>
    {
        CheckLengths(y.Length, rstd.Length, x.Length, weight.Length, rows, channels);
        CheckLengths(sum.Length, rstd.Length, residual.Length, weight.Length, rows, channels);
        fixed (float* pSum = sum, pY = y, pRstd = rstd, pResidual = residual, pX = x, pWeight = weight)
        {
            var work = AddForwardWork<TVector>.Cached ??= new();
            work.Sum = pSum;
            work.Y = pY;
            work.Rstd = pRstd;
            work.Residual = pResidual;
            work.X = pX;
            work.Weight = pWeight;
            work.Rows = rows;
            work.Channels = channels;
            work.Eps = eps;
            work.RunChunks(rows, ChunkedWork.ChunkOf(4L * channels));
        }
    }

    // Rows [start, end) of AddForward.
    private static void AddForwardRows<TVector>(Span<float> sum, Span<float> y, Span<float> rstd, ReadOnlySpan<float> residual,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int channels, float eps, int start, int end)
        where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        for (int r = start; r < end; r++)
        {
            var ar = residual.Slice(r * channels, channels);
            var xr = x.Slice(r * channels, channels);
            var sr = sum.Slice(r * channels, channels);
            var acc = TVector.Create(0f);
            int i = 0;
            for (; i <= channels - n; i += n)
            {
                var v = TVector.Load(ar, i) + TVector.Load(xr, i);
                TVector.Store(v, sr, i);
                acc += v * v;
            }
            float squares = TVector.Sum(acc);
            for (; i < channels; i++)
            {
                float v = ar[i] + xr[i];
                sr[i] = v;
                squares += v * v;
            }
            float s = InverseRms(squares, channels, eps);
            rstd[r] = s;
            ScaleByWeight<TVector>(y.Slice(r * channels, channels), sr, s, weight);
        }
    }

    /// <summary><see cref="Backward"/> at one vector width.</summary>
    internal static void Backward<TVector>(Span<float> dx, Span<float> dweight, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int rows, int channels, bool overwriteDx = false)
        where TVector : struct, IFloatVector<TVector>
    {
        CheckBackwardLengths(dx, dweight, dy, x, weight, rstd, rows, channels);
        fixed (float* pDx = dx, pDweight = dweight, pDy = dy, pX = x, pWeight = weight, pRstd = rstd)
        {
            var work = BackwardWork<TVector>.Cached ??= new();
            work.Dx = pDx;
            work.Dweight = pDweight;
            work.Dy = pDy;
            work.X = pX;
            work.Weight = pWeight;
            work.Rstd = pRstd;
            work.Rows = rows;
            work.Channels = channels;
            work.OverwriteDx = overwriteDx;
            if (!dx.IsEmpty)
            {
                work.WeightPass = false;
                work.RunChunks(rows, ChunkedWork.ChunkOf(3L * channels));
            }
            if (!dweight.IsEmpty)
            {
                work.WeightPass = true;
                work.RunChunks(channels, WeightGradientChunk);
            }
        }
    }

    // Rows [start, end) of dx += rstd·(dy·w − x·rstd²·mean(dy·w·x)) (stored instead with overwrite).
    private static void InputGradientRows<TVector>(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int channels, int start, int end, bool overwrite)
        where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        for (int r = start; r < end; r++)
        {
            var dyr = dy.Slice(r * channels, channels);
            var xr = x.Slice(r * channels, channels);
            float s = rstd[r];
            // k = rstd³ · mean(dy·w·x): the part of dx that flows through rstd.
            var acc = TVector.Create(0f);
            int i = 0;
            for (; i <= channels - n; i += n)
                acc += TVector.Load(dyr, i) * TVector.Load(weight, i) * TVector.Load(xr, i);
            float dot = TVector.Sum(acc);
            for (; i < channels; i++) dot += dyr[i] * weight[i] * xr[i];
            float k = dot / channels * s * s * s;

            var dxr = dx.Slice(r * channels, channels);
            var vs = TVector.Create(s);
            var vk = TVector.Create(k);
            for (i = 0; i <= channels - n; i += n)
            {
                var g = TVector.Load(dyr, i) * TVector.Load(weight, i) * vs - TVector.Load(xr, i) * vk;
                TVector.Store(overwrite ? g : TVector.Load(dxr, i) + g, dxr, i);
            }
            for (; i < channels; i++) dxr[i] = (overwrite ? 0f : dxr[i]) + (dyr[i] * weight[i] * s - xr[i] * k);
        }
    }

    // Channels [start, end) of dweight += Σ_rows dy·x·rstd, the rows added in order.
    private static void WeightGradientChannels<TVector>(Span<float> dweight, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> rstd, int rows, int channels, int start, int end) where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count;
        var dw = dweight[start..end];
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * channels + start, end - start);
            var xr = x.Slice(r * channels + start, end - start);
            float s = rstd[r];
            var vs = TVector.Create(s);
            int i = 0;
            for (; i <= dw.Length - n; i += n)
                TVector.Store(TVector.Load(dw, i) + TVector.Load(dyr, i) * (TVector.Load(xr, i) * vs), dw, i);
            for (; i < dw.Length; i++) dw[i] += dyr[i] * (xr[i] * s);
        }
    }

    /// <summary>Scalar specification of <see cref="Forward"/>.</summary>
    public static void ForwardReference(Span<float> y, Span<float> rstd, ReadOnlySpan<float> x, ReadOnlySpan<float> weight,
        int rows, int channels, float eps)
    {
        CheckLengths(y.Length, rstd.Length, x.Length, weight.Length, rows, channels);
        for (int r = 0; r < rows; r++)
        {
            float squares = 0;
            for (int i = 0; i < channels; i++) squares += x[r * channels + i] * x[r * channels + i];
            float s = InverseRms(squares, channels, eps);
            rstd[r] = s;
            for (int i = 0; i < channels; i++) y[r * channels + i] = weight[i] * (x[r * channels + i] * s);
        }
    }

    /// <summary>Scalar specification of <see cref="AddForward"/>.</summary>
    public static void AddForwardReference(Span<float> sum, Span<float> y, Span<float> rstd, ReadOnlySpan<float> residual,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, int rows, int channels, float eps)
    {
        CheckLengths(sum.Length, rstd.Length, residual.Length, weight.Length, rows, channels);
        for (int i = 0; i < rows * channels; i++) sum[i] = residual[i] + x[i];
        ForwardReference(y, rstd, sum, weight, rows, channels, eps);
    }

    /// <summary>Scalar specification of <see cref="Backward"/>.</summary>
    public static void BackwardReference(Span<float> dx, Span<float> dweight, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int rows, int channels, bool overwriteDx = false)
    {
        CheckBackwardLengths(dx, dweight, dy, x, weight, rstd, rows, channels);
        for (int r = 0; r < rows; r++)
        {
            int o = r * channels;
            float s = rstd[r];
            float dot = 0;
            for (int i = 0; i < channels; i++) dot += dy[o + i] * weight[i] * x[o + i];
            float k = dot / channels * s * s * s;
            for (int i = 0; i < channels; i++)
            {
                if (!dx.IsEmpty) dx[o + i] = (overwriteDx ? 0f : dx[o + i]) + (dy[o + i] * weight[i] * s - x[o + i] * k);
                if (!dweight.IsEmpty) dweight[i] += dy[o + i] * (x[o + i] * s);
            }
        }
    }

    // Channels per chunk of the weight gradient: a multiple of every vector width, so the chunks split no vector.
    private const int WeightGradientChunk = 64;

    private static float InverseRms(float sumOfSquares, int channels, float eps) =>
        1f / MathF.Sqrt(sumOfSquares / channels + eps);

    // row: (C)
    private static float SumOfSquares<TVector>(ReadOnlySpan<float> row) where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count, i = 0;
        var acc = TVector.Create(0f);
        for (; i <= row.Length - n; i += n)
        {
            var v = TVector.Load(row, i);
            acc += v * v;
        }
        float sum = TVector.Sum(acc);
        for (; i < row.Length; i++) sum += row[i] * row[i];
        return sum;
    }

    // y, x, weight: (C)
    private static void ScaleByWeight<TVector>(Span<float> y, ReadOnlySpan<float> x, float scale, ReadOnlySpan<float> weight)
        where TVector : struct, IFloatVector<TVector>
    {
        int n = TVector.Count, i = 0;
        var vs = TVector.Create(scale);
        for (; i <= x.Length - n; i += n)
            TVector.Store(TVector.Load(weight, i) * (TVector.Load(x, i) * vs), y, i);
        for (; i < x.Length; i++) y[i] = weight[i] * (x[i] * scale);
    }

    private static void CheckLengths(int y, int rstd, int x, int weight, int rows, int channels)
    {
        long count = (long)rows * channels;
        if (y != count || x != count || rstd != rows || weight != channels)
            throw new ArgumentException(
                $"RmsNorm kernel: expected x and y of {count} = {rows}×{channels} floats, rstd of {rows} and weight of {channels}; got x {x}, y {y}, rstd {rstd}, weight {weight}.");
    }

    private static void CheckBackwardLengths(Span<float> dx, Span<float> dweight, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int rows, int channels)
    {
        CheckLengths(dy.Length, rstd.Length, x.Length, weight.Length, rows, channels);
        if ((!dx.IsEmpty && dx.Length != dy.Length) || (!dweight.IsEmpty && dweight.Length != channels))
            throw new ArgumentException($"RmsNorm backward: dx has {dx.Length} floats (expected {dy.Length} or none), dweight {dweight.Length} (expected {channels} or none).");
    }
}
