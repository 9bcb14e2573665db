using Peft.Net.Adapters;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Lora;
using Peft.Net.Reliability.Tests.Testing;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Mutated adapter folders (adapter_config.json or adapter_model.safetensors) either load onto the base model or fail
/// with <see cref="AdapterFormatException"/> / <see cref="SafetensorsFormatException"/> naming the file — and a
/// failed load leaves the model exactly as it was.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class AdapterFuzzTests(ITestOutputHelper output) : IDisposable
{
    public const double Share = 0.10;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MutatedAdapterFoldersFailCleanly()
    {
        string seedFolder = _folder.Folder("seed");
        var trained = new TinyLoraBase();
        trained.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj", "down_proj"], seed: 1);
        trained.SaveAdapter(seedFolder);
        var config = File.ReadAllBytes(Path.Combine(seedFolder, AdapterFiles.ConfigFile));
        var weights = File.ReadAllBytes(Path.Combine(seedFolder, AdapterFiles.WeightsFile));
        string caseFolder = _folder.Folder("case");
        string configPath = Path.Combine(caseFolder, AdapterFiles.ConfigFile), weightsPath = Path.Combine(caseFolder, AdapterFiles.WeightsFile);
        var baseKeys = new TinyLoraBase().StateDict().Keys.ToList();

        new FuzzRunner
        {
            Target = "adapter",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                string what;
                if (rng.Next(2) == 0)
                {
                    var edited = rng.Next(5) == 0 ? ByteMutator.Mutate(config, rng, out what) : JsonMutator.Mutate(config, rng, out what);
                    return new FuzzCase(0, 0, "config: " + what, [.. BitConverter.GetBytes(edited.Length), .. edited, .. weights]);
                }
                var mutated = SafetensorsFuzzTests.Mutate(weights, rng, out what);
                return new FuzzCase(0, 0, "weights: " + what, [.. BitConverter.GetBytes(config.Length), .. config, .. mutated]);
            },
            Exercise = c =>
            {
                int configLength = BitConverter.ToInt32(c.Input);
                File.WriteAllBytes(configPath, c.Input[4..(4 + configLength)]);
                File.WriteAllBytes(weightsPath, c.Input[(4 + configLength)..]);
                var model = new TinyLoraBase();
                try
                {
                    model.LoadAdapter(caseFolder);
                }
                catch (Exception e)
                {
                    if (!model.StateDict().Keys.SequenceEqual(baseKeys))
                        throw new InvalidOperationException($"a failed load left the model changed ({e.GetType().Name}: {e.Message})", e);
                    throw;
                }
                using var noGrad = Tensor.NoGrad();
                _ = model.Forward(Tensor.Ones(2, 8));
            },
            Allowed = [typeof(AdapterFormatException), typeof(SafetensorsFormatException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.StartsWith(configPath, StringComparison.Ordinal) && !e.Message.StartsWith(weightsPath, StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not start with the adapter file's path");
            },
            AllocationFactor = 64,
            AllocationSlack = 1 << 20,
        }.Run(output);
    }
}
