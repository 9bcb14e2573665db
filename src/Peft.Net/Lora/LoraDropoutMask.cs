using Peft.Net.Core;

namespace Peft.Net.Lora;

/// <summary>Inverted-dropout masks for the adapter branch's input: each element kept with probability 1 − p and scaled by 1/(1 − p).</summary>
internal static class LoraDropoutMask
{
    // → (shape): 0 or 1/(1 − p)
    public static Tensor Create(int[] shape, float p, TensorRandom random)
    {
        var mask = Tensor.Zeros(shape);
        if (p >= 1f) return mask;
        float keep = 1f / (1f - p);
        var span = mask.AsSpan();
        for (int i = 0; i < span.Length; i++) span[i] = random.NextSingle() >= p ? keep : 0f;
        return mask;
    }
}
