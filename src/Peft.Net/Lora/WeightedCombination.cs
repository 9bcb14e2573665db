using Peft.Net.Core;

namespace Peft.Net.Lora;

/// <summary>The A and B values of a weighted adapter combination on one layer (PEFT's <c>_add_weighted_adapter</c> for "linear" and "cat").</summary>
internal static class WeightedCombination
{
    /// <summary>Overwrites adapter <paramref name="target"/>'s A and B on <paramref name="layer"/> with the combination of the adapters the layer has.</summary>
    public static void Fill(ILoraLayer layer, IReadOnlyList<string> adapters, IReadOnlyList<float> weights, string target, bool concatenate)
    {
        var (newA, newB) = LoraMatrices.Get(layer, target);   // A [R', K], B [N, R']
        var a = newA.AsSpan();
        var b = newB.AsSpan();
        a.Clear();
        b.Clear();
        int k = newA.Dim(1), n = newB.Dim(0), newRank = newA.Dim(0);
        int row = 0;
        for (int i = 0; i < adapters.Count; i++)
        {
            if (!layer.AdapterNames.Contains(adapters[i])) continue;
            var (sourceA, sourceB) = LoraMatrices.Get(layer, adapters[i]);
            ReadOnlySpan<float> ai = sourceA.AsSpan(), bi = sourceB.AsSpan();
            int rank = sourceA.Dim(0);
            float product = weights[i] * layer.GetScaling(adapters[i]);
            if (concatenate)
            {
                // A rows [row, row + rank) = w·s·A_i; B columns [row, row + rank) = B_i.
                for (int j = 0; j < rank * k; j++) a[row * k + j] = product * ai[j];
                for (int o = 0; o < n; o++)
                    for (int r = 0; r < rank; r++)
                        b[o * newRank + row + r] = bi[o * rank + r];
                row += rank;
            }
            else
            {
                float weightB = MathF.Sqrt(MathF.Abs(product));
                float weightA = MathF.Sign(product) * weightB;
                for (int j = 0; j < a.Length; j++) a[j] += weightA * ai[j];
                for (int j = 0; j < b.Length; j++) b[j] += weightB * bi[j];
            }
        }
    }
}
