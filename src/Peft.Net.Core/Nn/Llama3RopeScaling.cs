namespace Peft.Net.Core.Nn;

/// <summary>
/// The "llama3" <c>rope_scaling</c> of Llama 3.1+ configs: long wavelengths are divided by <see cref="Factor"/>,
/// short ones kept, and those in between interpolated smoothly (Hugging Face <c>_compute_llama3_parameters</c>).
/// </summary>
/// <param name="Factor">Divides the low frequencies (<c>factor</c>, 8 for Llama 3.1).</param>
/// <param name="LowFreqFactor">Wavelengths above original_max_position_embeddings / this are fully scaled (<c>low_freq_factor</c>).</param>
/// <param name="HighFreqFactor">Wavelengths below original_max_position_embeddings / this are kept (<c>high_freq_factor</c>).</param>
/// <param name="OriginalMaxPositionEmbeddings">Context length the model was pre-trained with (<c>original_max_position_embeddings</c>).</param>
public sealed record Llama3RopeScaling(double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositionEmbeddings)
{
    /// <summary>
    /// The scaled inverse frequencies, computed step by step in float32 as Hugging Face does on float32 tensors.
    /// </summary>
    /// <exception cref="ArgumentException">Factor ≤ 0, HighFreqFactor ≤ LowFreqFactor, or a non-positive context length.</exception>
    public float[] Apply(ReadOnlySpan<float> inverseFrequencies)
    {
        if (!(Factor > 0) || !(LowFreqFactor > 0) || !(HighFreqFactor > LowFreqFactor) || OriginalMaxPositionEmbeddings <= 0)
            throw new ArgumentException(
                $"llama3 rope_scaling needs factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0; got {this}.");
        // Python scalars meet float32 tensors: each is rounded to float before the float32 operation.
        float lowFreqWavelen = (float)(OriginalMaxPositionEmbeddings / LowFreqFactor);
        float highFreqWavelen = (float)(OriginalMaxPositionEmbeddings / HighFreqFactor);
        float factor = (float)Factor, low = (float)LowFreqFactor, span = (float)(HighFreqFactor - LowFreqFactor);
        float twoPi = (float)(2 * Math.PI), context = OriginalMaxPositionEmbeddings;

        var scaled = new float[inverseFrequencies.Length];
        for (int i = 0; i < scaled.Length; i++)
        {
            float frequency = inverseFrequencies[i];
            float wavelen = twoPi / frequency;
            float result = wavelen > lowFreqWavelen ? frequency / factor : frequency;
            if (!(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen))
            {
                float smooth = (context / wavelen - low) / span;
                result = (1f - smooth) * result / factor + smooth * result;
            }
            scaled[i] = result;
        }
        return scaled;
    }
}
