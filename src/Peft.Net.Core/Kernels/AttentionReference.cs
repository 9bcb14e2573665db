namespace Peft.Net.Core.Kernels;

/// <summary>
/// The scalar attention that defines the result: for each (batch, head) it materialises the scores
/// S = q·kᵀ·scale (Tq × Tk), masks them, takes a max-subtracted softmax and multiplies by v, all in double.
/// It is the oracle the fused kernels in <see cref="AttentionKernels"/> are tested against, never a hot path.
/// </summary>
internal static class AttentionReference
{
    // q: (B, H, Tq, D)  k, v: (B, Hkv, Tk, D)  output: (B, H, Tq, D), or time before heads per shape.Layout
    /// <summary>output = softmax(q·kᵀ·scale + mask)·v, written (not accumulated).</summary>
    public static void Forward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        Span<float> output, AttentionShape shape)
    {
        CheckLengths(shape, q, k, v, output);
        int tq = shape.QueryLength, tk = shape.KeyLength, d = shape.HeadDim;
        int qs = shape.QueryRowStride, ks = shape.KeyRowStride;
        var probabilities = new double[tq * tk];
        for (int bh = 0; bh < shape.Batch * shape.Heads; bh++)
        {
            int qo = shape.QueryHeadOffset(bh), ko = shape.KeyHeadOffset(bh);
            Probabilities(q[qo..], k[ko..], shape, probabilities);
            for (int i = 0; i < tq; i++)
            for (int c = 0; c < d; c++)
            {
                double sum = 0;
                for (int j = 0; j < tk; j++) sum += probabilities[i * tk + j] * v[ko + j * ks + c];
                output[qo + i * qs + c] = (float)sum;
            }
        }
    }

    // q, dOutput, dq: (B, H, Tq, D)  k, v, dk, dv: (B, Hkv, Tk, D), or time before heads per shape.Layout
    /// <summary>
    /// Accumulates (+=) the gradients of <see cref="Forward"/> given dOutput: with P the probabilities,
    /// dv += Pᵀ·dO, dP = dO·vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)), dq += scale·dS·k, dk += scale·dSᵀ·q
    /// (dk and dv summed over the query heads of a group).
    /// </summary>
    public static void Backward(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> dOutput, Span<float> dq, Span<float> dk, Span<float> dv, AttentionShape shape)
    {
        CheckLengths(shape, q, k, v, dOutput);
        if (dq.Length != shape.QueryCount || dk.Length != shape.KeyCount || dv.Length != shape.KeyCount)
            throw new ArgumentException($"Gradient buffers have {dq.Length}, {dk.Length}, {dv.Length} elements; {shape} needs {shape.QueryCount}, {shape.KeyCount}, {shape.KeyCount}.");
        int tq = shape.QueryLength, tk = shape.KeyLength, d = shape.HeadDim;
        int qs = shape.QueryRowStride, ks = shape.KeyRowStride;
        var probabilities = new double[tq * tk];
        var scoreGrad = new double[tq * tk];
        for (int bh = 0; bh < shape.Batch * shape.Heads; bh++)
        {
            int qo = shape.QueryHeadOffset(bh), ko = shape.KeyHeadOffset(bh);
            Probabilities(q[qo..], k[ko..], shape, probabilities);
            for (int i = 0; i < tq; i++)
            {
                double rowDot = 0;
                for (int j = 0; j < tk; j++)
                {
                    double dp = 0;
                    for (int c = 0; c < d; c++) dp += (double)dOutput[qo + i * qs + c] * v[ko + j * ks + c];
                    scoreGrad[i * tk + j] = dp;
                    rowDot += dp * probabilities[i * tk + j];
                }
                for (int j = 0; j < tk; j++)
                    scoreGrad[i * tk + j] = probabilities[i * tk + j] * (scoreGrad[i * tk + j] - rowDot) * shape.Scale;
            }
            for (int j = 0; j < tk; j++)
            for (int c = 0; c < d; c++)
            {
                double gv = 0, gk = 0;
                for (int i = 0; i < tq; i++)
                {
                    gv += probabilities[i * tk + j] * dOutput[qo + i * qs + c];
                    gk += scoreGrad[i * tk + j] * q[qo + i * qs + c];
                }
                dv[ko + j * ks + c] += (float)gv;
                dk[ko + j * ks + c] += (float)gk;
            }
            for (int i = 0; i < tq; i++)
            for (int c = 0; c < d; c++)
            {
                double g = 0;
                for (int j = 0; j < tk; j++) g += scoreGrad[i * tk + j] * k[ko + j * ks + c];
                dq[qo + i * qs + c] += (float)g;
            }
        }
    }

    // q: (Tq, D) rows QueryRowStride apart  k: (Tk, D) rows KeyRowStride apart  probabilities: (Tq, Tk), masked entries 0
    private static void Probabilities(ReadOnlySpan<float> q, ReadOnlySpan<float> k, AttentionShape shape, double[] probabilities)
    {
        int tq = shape.QueryLength, tk = shape.KeyLength, d = shape.HeadDim;
        int qs = shape.QueryRowStride, ks = shape.KeyRowStride;
        for (int i = 0; i < tq; i++)
        {
            var row = probabilities.AsSpan(i * tk, tk);
            int end = shape.KeyEnd(i);
            double max = double.NegativeInfinity;
            for (int j = 0; j < end; j++)
            {
                double s = 0;
                for (int c = 0; c < d; c++) s += (double)q[i * qs + c] * k[j * ks + c];
                row[j] = s * shape.Scale;
                max = Math.Max(max, row[j]);
            }
            double sum = 0;
            for (int j = 0; j < end; j++) sum += row[j] = Math.Exp(row[j] - max);
            for (int j = 0; j < end; j++) row[j] /= sum;
            row[end..].Clear();
        }
    }

    private static void CheckLengths(AttentionShape shape, ReadOnlySpan<float> q, ReadOnlySpan<float> k,
        ReadOnlySpan<float> v, ReadOnlySpan<float> queryShaped)
    {
        shape.Validate();
        if (q.Length != shape.QueryCount || queryShaped.Length != shape.QueryCount || k.Length != shape.KeyCount || v.Length != shape.KeyCount)
            throw new ArgumentException($"Attention buffers have {q.Length}, {k.Length}, {v.Length}, {queryShaped.Length} elements; {shape} needs q/output {shape.QueryCount} and k/v {shape.KeyCount}.");
    }
}
