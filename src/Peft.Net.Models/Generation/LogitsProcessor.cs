namespace Peft.Net.Models;

/// <summary>Hugging Face's logits processors and warpers on one row of logits [V], in place.</summary>
internal static class LogitsProcessor
{
    // logits: (V)
    /// <summary><c>RepetitionPenaltyLogitsProcessor</c>: each seen token's logit is divided by the penalty when positive, multiplied when negative.</summary>
    public static void ApplyRepetitionPenalty(Span<float> logits, IReadOnlySet<int> seen, float penalty)
    {
        if (penalty == 1f) return;
        foreach (int id in seen)
            logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
    }

    /// <summary><c>TemperatureLogitsWarper</c>.</summary>
    public static void ApplyTemperature(Span<float> logits, float temperature)
    {
        if (temperature == 1f) return;
        for (int i = 0; i < logits.Length; i++) logits[i] /= temperature;
    }

    /// <summary><c>TopKLogitsWarper</c>: logits below the K-th largest become −∞ (ties with it stay).</summary>
    public static void ApplyTopK(Span<float> logits, int k)
    {
        if (k <= 0 || k >= logits.Length) return;
        var sorted = logits.ToArray();
        Array.Sort(sorted, (a, b) => b.CompareTo(a));
        float threshold = sorted[k - 1];
        for (int i = 0; i < logits.Length; i++)
            if (logits[i] < threshold) logits[i] = float.NegativeInfinity;
    }

    /// <summary>
    /// <c>TopPLogitsWarper</c>: sorts ascending, removes the tokens whose cumulative probability is ≤ 1 − P, and always
    /// keeps the most likely token.
    /// </summary>
    public static void ApplyTopP(Span<float> logits, float topP)
    {
        if (topP >= 1f) return;
        var probabilities = Softmax(logits);
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var keys = logits.ToArray();
        Array.Sort(keys, order); // ascending by logit
        double cumulative = 0;
        for (int r = 0; r < order.Length - 1; r++) // the last (most likely) is always kept
        {
            cumulative += probabilities[order[r]];
            if (cumulative <= 1 - topP) logits[order[r]] = float.NegativeInfinity;
        }
    }

    /// <summary>Index of the largest logit (the first one on ties, as torch.argmax).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    /// <summary>Draws an index from softmax(logits) with the uniform number <paramref name="uniform"/> in [0, 1).</summary>
    public static int Sample(ReadOnlySpan<float> logits, double uniform)
    {
        var probabilities = Softmax(logits);
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            if (probabilities[i] <= 0) continue;
            cumulative += probabilities[i];
            last = i;
            if (uniform < cumulative) return i;
        }
        return last; // rounding left the total just under 1
    }

    /// <summary>Numerically stable softmax in double (−∞ logits get probability 0).</summary>
    private static double[] Softmax(ReadOnlySpan<float> logits)
    {
        float max = float.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        var probabilities = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++)
            sum += probabilities[i] = float.IsNegativeInfinity(logits[i]) ? 0 : Math.Exp(logits[i] - (double)max);
        for (int i = 0; i < probabilities.Length; i++) probabilities[i] /= sum;
        return probabilities;
    }
}
