using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Models;
using Peft.Net.Reliability.Tests.Testing;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Mutated Hugging Face checkpoint folders (config.json or model.safetensors of the tiny Llama fixture): config.json
/// parses or fails with <see cref="InvalidDataException"/> / <see cref="NotSupportedException"/> naming the file; a
/// checkpoint whose config keeps the fixture's sizes loads into a model that runs, or fails with those or
/// <see cref="SafetensorsFormatException"/> naming the file.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class LlamaCheckpointFuzzTests(ITestOutputHelper output) : IDisposable
{
    public const double Share = 0.08;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MutatedCheckpointsFailCleanly()
    {
        string fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama");
        var config = File.ReadAllBytes(Path.Combine(fixture, "config.json"));
        var weights = File.ReadAllBytes(Path.Combine(fixture, "model.safetensors"));
        string folder = _folder.Folder("case");
        string configPath = Path.Combine(folder, "config.json"), weightsPath = Path.Combine(folder, "model.safetensors");
        File.WriteAllBytes(weightsPath, weights);
        bool weightsIntact = true;

        new FuzzRunner
        {
            Target = "llama-checkpoint",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                string what;
                if (rng.Next(4) != 0)
                {
                    var edited = rng.Next(5) == 0 ? ByteMutator.Mutate(config, rng, out what) : JsonMutator.Mutate(config, rng, out what);
                    return new FuzzCase(0, 0, "config: " + what, [.. BitConverter.GetBytes(edited.Length), .. edited]);
                }
                var mutated = SafetensorsFuzzTests.Mutate(weights, rng, out what);
                return new FuzzCase(0, 0, "weights: " + what, [.. BitConverter.GetBytes(config.Length), .. config, .. mutated]);
            },
            Exercise = c =>
            {
                int configLength = BitConverter.ToInt32(c.Input);
                File.WriteAllBytes(configPath, c.Input[4..(4 + configLength)]);
                bool mutatesWeights = c.Input.Length > 4 + configLength;
                if (mutatesWeights || !weightsIntact)
                    File.WriteAllBytes(weightsPath, mutatesWeights ? c.Input[(4 + configLength)..] : weights);
                weightsIntact = !mutatesWeights;
                var config = LlamaConfig.Load(configPath);
                // A config that parses is a valid request for a model of its sizes, which FromPretrained builds before
                // reading the weights (a known gap, docs/reliability.md): only configs of the fixture's sizes go on.
                if (config.MaxPositionEmbeddings > 4096 || config.HiddenSize > 64 || config.IntermediateSize > 172 ||
                    config.VocabSize > 256 || config.NumHiddenLayers > 2 || config.NumAttentionHeads > 4 || config.ResolvedHeadDim > 16)
                    return;
                var model = LlamaForCausalLM.FromPretrained(folder);
                using var noGrad = Tensor.NoGrad();
                int time = Math.Min(4, model.Config.MaxPositionEmbeddings); // longer inputs are rightly refused
                _ = model.Forward(new[] { 1, 2, 3, 4 }.AsSpan(0, time), 1, time);
            },
            Allowed = [typeof(InvalidDataException), typeof(NotSupportedException), typeof(SafetensorsFormatException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.Contains(folder, StringComparison.Ordinal) && !e.Message.Contains("model.safetensors", StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not name the checkpoint's file");
            },
            // The model itself is as large as the weights (F32 fixture); a copy for loading and the logits come on top.
            AllocationFactor = 6,
            AllocationSlack = 4 << 20,
        }.Run(output);
    }
}
