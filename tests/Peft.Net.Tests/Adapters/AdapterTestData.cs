using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;

namespace Peft.Net.Tests.Adapters;

internal static class AdapterTestData
{
    public static readonly int[,] Ids = { { 3, 1, 4, 1, 5 }, { 9, 2, 6, 5, 31 } };

    public static string FixturePath(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "fixtures", "adapters", .. parts]);

    /// <summary>Gives every B (and A) of adapter <paramref name="name"/> random values so the adapter changes the output.</summary>
    public static void Randomize(Module model, string name, ulong seed)
    {
        var random = new TensorRandom(seed);
        foreach (var (_, layer) in PeftModelExtensions.LoraLayers(model))
        {
            if (!layer.AdapterNames.Contains(name)) continue;
            var (a, b) = LoraMatrices.Get(layer, name);
            foreach (var t in new[] { a, b })
            {
                var span = t.AsSpan();
                for (int i = 0; i < span.Length; i++) span[i] = (float)(random.NextGaussian() * 0.3);
            }
        }
    }

    public static string[] TrainableNames(Module model) =>
        model.NamedParameters().Where(p => p.Parameter.RequiresGrad).Select(p => p.Name).ToArray();
}
