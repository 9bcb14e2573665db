using Peft.Net.Core;

namespace Peft.Net.Neftune;

/// <summary>
/// NEFTune's noise as Hugging Face's forward hook adds it to an input embedding's output: uniform in
/// ±α/√(L·d), L the padded sequence length (dimension −2 of the output, dimension 1 for [B, T, d]), d the last dimension.
/// </summary>
public static class NeftuneNoise
{
    // output: (..., L, d) → (..., L, d)
    /// <summary>
    /// Returns <c>output + U(−1, 1)·α/√(L·d)</c> (recorded by autograd: the noise is a constant). Returns
    /// <paramref name="output"/> itself when α is 0 or it is empty.
    /// </summary>
    /// <param name="output">The embedding output [..., L, d] (a 1-D [d] output counts as L = 1).</param>
    /// <param name="noiseAlpha">α ≥ 0.</param>
    /// <param name="random">The noise generator.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="noiseAlpha"/> is negative or not finite.</exception>
    public static Tensor Add(Tensor output, float noiseAlpha, TensorRandom random)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(random);
        if (!(noiseAlpha >= 0 && float.IsFinite(noiseAlpha)))
            throw new ArgumentOutOfRangeException(nameof(noiseAlpha), noiseAlpha, "The NEFTune noise alpha must be finite and ≥ 0.");
        if (noiseAlpha == 0 || output.Count == 0) return output;
        int length = output.Rank >= 2 ? output.Dim(-2) : 1;
        float magnitude = noiseAlpha / MathF.Sqrt((float)length * output.Dim(-1));
        return Ops.Add(output, Tensor.Uniform(output.ShapeArray(), -magnitude, magnitude, random));
    }
}
