using Peft.Net.Core.Kernels.Simd;

namespace Peft.Net.Core.Kernels;

/// <summary>
/// Layer normalisation over the last dimension, as <c>torch.nn.functional.layer_norm</c>:
/// <c>y = (x − mean)·rstd·weight + bias</c> with the biased variance and <c>rstd = 1/√(var + eps)</c> per row.
/// An empty weight or bias span means "absent". The <c>…Reference</c> methods are the scalar specification.
/// </summary>
internal static class LayerNormKernels
{
    // y, x: (N, C); mean, rstd: (N); weight, bias: (C) or empty
    /// <summary>Normalises each row and saves its mean and rstd for the backward pass.</summary>
    public static void Forward(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rows, int channels, float eps)
    {
        if (FloatVector512.IsHardwareAccelerated) Forward<FloatVector512>(y, mean, rstd, x, weight, bias, rows, channels, eps);
        else if (FloatVector256.IsHardwareAccelerated) Forward<FloatVector256>(y, mean, rstd, x, weight, bias, rows, channels, eps);
        else if (FloatVector128.IsHardwareAccelerated) Forward<FloatVector128>(y, mean, rstd, x, weight, bias, rows, channels, eps);
        else ForwardReference(y, mean, rstd, x, weight, bias, rows, channels, eps);
    }

    // dx, dy, x: (N, C); dweight, dbias, weight: (C) or empty; mean, rstd: (N)
    /// <summary>
    /// Accumulates the gradients. With x̂ = (x − mean)·rstd and g = dy·weight:
    /// <c>dx += rstd·(g − mean(g) − x̂·mean(g·x̂))</c>, <c>dweight += Σ_rows dy·x̂</c>, <c>dbias += Σ_rows dy</c>.
    /// An empty gradient span skips that gradient.
    /// </summary>
    public static void Backward(Span<float> dx, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int channels)
    {
        if (FloatVector512.IsHardwareAccelerated) Backward<FloatVector512>(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
        else if (FloatVector256.IsHardwareAccelerated) Backward<FloatVector256>(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
        else if (FloatVector128.IsHardwareAccelerated) Backward<FloatVector128>(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
        else BackwardReference(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
    }

    /// <summary><see cref="Forward"/> at one vector width.</summary>
    internal static void Forward<TVector>(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rows, int channels, float eps)
        where TVector : struct, IFloatVector<TVector>
    {
        CheckForwardLengths(y, mean, rstd, x, weight, bias, rows, channels);
        int n = TVector.Count;
        bool hasWeight = !weight.IsEmpty, hasBias = !bias.IsEmpty;
        for (int r = 0; r < rows; r++)
        {
            var xr = x.Slice(r * channels, channels);
            var yr = y.Slice(r * channels, channels);

            var acc = TVector.Create(0f);
            int i = 0;
            for (; i <= channels - n; i += n) acc += TVector.Load(xr, i);
            float sum = TVector.Sum(acc);
            for (; i < channels; i++) sum += xr[i];
            float m = sum / channels;

            var vm = TVector.Create(m);
            acc = TVector.Create(0f);
            for (i = 0; i <= channels - n; i += n)
            {
                var d = TVector.Load(xr, i) - vm;
                acc += d * d;
            }
            float squares = TVector.Sum(acc);
            for (; i < channels; i++) squares += (xr[i] - m) * (xr[i] - m);
            float s = 1f / MathF.Sqrt(squares / channels + eps);
            mean[r] = m;
            rstd[r] = s;

            var vs = TVector.Create(s);
            for (i = 0; i <= channels - n; i += n)
            {
                var v = (TVector.Load(xr, i) - vm) * vs;
                if (hasWeight) v *= TVector.Load(weight, i);
                if (hasBias) v += TVector.Load(bias, i);
                TVector.Store(v, yr, i);
            }
            for (; i < channels; i++) yr[i] = Affine((xr[i] - m) * s, weight, bias, i);
        }
    }

    /// <summary><see cref="Backward"/> at one vector width.</summary>
    internal static void Backward<TVector>(Span<float> dx, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int channels)
        where TVector : struct, IFloatVector<TVector>
    {
        CheckBackwardLengths(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
        int n = TVector.Count;
        bool hasWeight = !weight.IsEmpty;
        for (int r = 0; r < rows; r++)
        {
            var dyr = dy.Slice(r * channels, channels);
            var xr = x.Slice(r * channels, channels);
            float m = mean[r], s = rstd[r];
            var vm = TVector.Create(m);
            var vs = TVector.Create(s);
            int i;
            if (!dx.IsEmpty)
            {
                // Two row means: of g = dy·w and of g·x̂.
                var accG = TVector.Create(0f);
                var accGx = TVector.Create(0f);
                for (i = 0; i <= channels - n; i += n)
                {
                    var g = TVector.Load(dyr, i);
                    if (hasWeight) g *= TVector.Load(weight, i);
                    accG += g;
                    accGx += g * ((TVector.Load(xr, i) - vm) * vs);
                }
                float sumG = TVector.Sum(accG), sumGx = TVector.Sum(accGx);
                for (; i < channels; i++)
                {
                    float g = hasWeight ? dyr[i] * weight[i] : dyr[i];
                    sumG += g;
                    sumGx += g * ((xr[i] - m) * s);
                }
                float meanG = sumG / channels, meanGx = sumGx / channels;

                var dxr = dx.Slice(r * channels, channels);
                var vMeanG = TVector.Create(meanG);
                var vMeanGx = TVector.Create(meanGx);
                for (i = 0; i <= channels - n; i += n)
                {
                    var g = TVector.Load(dyr, i);
                    if (hasWeight) g *= TVector.Load(weight, i);
                    var xhat = (TVector.Load(xr, i) - vm) * vs;
                    TVector.Store(TVector.Load(dxr, i) + (g - vMeanG - xhat * vMeanGx) * vs, dxr, i);
                }
                for (; i < channels; i++)
                {
                    float g = hasWeight ? dyr[i] * weight[i] : dyr[i];
                    dxr[i] += (g - meanG - (xr[i] - m) * s * meanGx) * s;
                }
            }
            if (!dweight.IsEmpty)
            {
                for (i = 0; i <= channels - n; i += n)
                    TVector.Store(TVector.Load(dweight, i) + TVector.Load(dyr, i) * ((TVector.Load(xr, i) - vm) * vs), dweight, i);
                for (; i < channels; i++) dweight[i] += dyr[i] * ((xr[i] - m) * s);
            }
            if (!dbias.IsEmpty)
            {
                for (i = 0; i <= channels - n; i += n)
                    TVector.Store(TVector.Load(dbias, i) + TVector.Load(dyr, i), dbias, i);
                for (; i < channels; i++) dbias[i] += dyr[i];
            }
        }
    }

    /// <summary>Scalar specification of <see cref="Forward"/>.</summary>
    public static void ForwardReference(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rows, int channels, float eps)
    {
        CheckForwardLengths(y, mean, rstd, x, weight, bias, rows, channels);
        for (int r = 0; r < rows; r++)
        {
            int o = r * channels;
            float sum = 0;
            for (int i = 0; i < channels; i++) sum += x[o + i];
            float m = sum / channels;
            float squares = 0;
            for (int i = 0; i < channels; i++) squares += (x[o + i] - m) * (x[o + i] - m);
            float s = 1f / MathF.Sqrt(squares / channels + eps);
            mean[r] = m;
            rstd[r] = s;
            for (int i = 0; i < channels; i++) y[o + i] = Affine((x[o + i] - m) * s, weight, bias, i);
        }
    }

    /// <summary>Scalar specification of <see cref="Backward"/>.</summary>
    public static void BackwardReference(Span<float> dx, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int channels)
    {
        CheckBackwardLengths(dx, dweight, dbias, dy, x, weight, mean, rstd, rows, channels);
        for (int r = 0; r < rows; r++)
        {
            int o = r * channels;
            float m = mean[r], s = rstd[r];
            float sumG = 0, sumGx = 0;
            for (int i = 0; i < channels; i++)
            {
                float g = weight.IsEmpty ? dy[o + i] : dy[o + i] * weight[i];
                sumG += g;
                sumGx += g * ((x[o + i] - m) * s);
            }
            float meanG = sumG / channels, meanGx = sumGx / channels;
            for (int i = 0; i < channels; i++)
            {
                float g = weight.IsEmpty ? dy[o + i] : dy[o + i] * weight[i];
                float xhat = (x[o + i] - m) * s;
                if (!dx.IsEmpty) dx[o + i] += (g - meanG - xhat * meanGx) * s;
                if (!dweight.IsEmpty) dweight[i] += dy[o + i] * xhat;
                if (!dbias.IsEmpty) dbias[i] += dy[o + i];
            }
        }
    }

    private static float Affine(float normalized, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int i)
    {
        if (!weight.IsEmpty) normalized *= weight[i];
        if (!bias.IsEmpty) normalized += bias[i];
        return normalized;
    }

    private static void CheckForwardLengths(Span<float> y, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> x,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int rows, int channels)
    {
        long count = (long)rows * channels;
        if (x.Length != count || y.Length != count || mean.Length != rows || rstd.Length != rows
            || (!weight.IsEmpty && weight.Length != channels) || (!bias.IsEmpty && bias.Length != channels))
            throw new ArgumentException(
                $"LayerNorm kernel: expected x and y of {count} = {rows}×{channels} floats, mean and rstd of {rows}, weight and bias of {channels} or none; " +
                $"got x {x.Length}, y {y.Length}, mean {mean.Length}, rstd {rstd.Length}, weight {weight.Length}, bias {bias.Length}.");
    }

    private static void CheckBackwardLengths(Span<float> dx, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dy,
        ReadOnlySpan<float> x, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int rows, int channels)
    {
        long count = (long)rows * channels;
        if (x.Length != count || dy.Length != count || mean.Length != rows || rstd.Length != rows
            || (!dx.IsEmpty && dx.Length != count) || (!weight.IsEmpty && weight.Length != channels)
            || (!dweight.IsEmpty && dweight.Length != channels) || (!dbias.IsEmpty && dbias.Length != channels))
            throw new ArgumentException(
                $"LayerNorm backward: expected x, dy (and dx) of {count} = {rows}×{channels} floats, mean and rstd of {rows}, weight/dweight/dbias of {channels} or none; " +
                $"got x {x.Length}, dy {dy.Length}, dx {dx.Length}, mean {mean.Length}, rstd {rstd.Length}, weight {weight.Length}, dweight {dweight.Length}, dbias {dbias.Length}.");
    }
}
