using System.Text;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Quantization;
using Peft.Net.Reliability.Tests.Testing;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>
/// Mutated 4-bit safetensors files in the bitsandbytes layout (the file, or the quant_state JSON inside it) either
/// read into tensors that dequantize, or fail with <see cref="SafetensorsFormatException"/> naming the file.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class Bnb4BitFuzzTests(ITestOutputHelper output) : IDisposable
{
    public const double Share = 0.10;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void MutatedFourBitFilesFailCleanly()
    {
        var seeds = new List<Dictionary<string, Tensor>>();
        int s = 0;
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4 })
        foreach (bool nested in new[] { false, true })
        {
            var q = Nf4Quantizer.Quantize(Tensor.Normal([6, 70 + 30 * s], 0, 1, new TensorRandom((ulong)++s)), type, s % 2 == 0 ? 64 : 32, nested);
            var tensors = Bnb4BitSerializer.ToTensors("model.layers.0.q_proj.weight", q).ToDictionary(p => p.Key, p => p.Value);
            tensors["model.norm.weight"] = Tensor.Ones(6);
            seeds.Add(tensors);
        }
        string scratch = _folder.File("scratch.safetensors"), path = _folder.File("case.safetensors");
        byte[] Save(Dictionary<string, Tensor> tensors)
        {
            Safetensors.Save(scratch, tensors);
            return File.ReadAllBytes(scratch);
        }
        var seedFiles = seeds.Select(Save).ToList();

        new FuzzRunner
        {
            Target = "bnb-4bit",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                int pick = rng.Next(seeds.Count);
                string what;
                if (rng.Next(2) == 0)
                    return new FuzzCase(0, 0, "", SafetensorsFuzzTests.Mutate(seedFiles[pick], rng, out what)) with { Mutation = "file: " + what };
                var tensors = new Dictionary<string, Tensor>(seeds[pick]);
                string key = tensors.Keys.Single(k => k.Contains(Bnb4BitSerializer.QuantStateInfix, StringComparison.Ordinal));
                var json = tensors[key].AsSpan<byte>().ToArray();
                var edited = JsonMutator.Mutate(json, rng, out what);
                tensors[key] = Tensor.Wrap(edited, edited.Length);
                return new FuzzCase(0, 0, "quant_state: " + what + " → " + Encoding.UTF8.GetString(edited), Save(tensors));
            },
            Exercise = c =>
            {
                File.WriteAllBytes(path, c.Input);
                using var file = SafetensorsFile.Open(path);
                foreach (string name in Bnb4BitSerializer.FindQuantizedTensors(file.Entries.Select(e => e.Name)))
                {
                    _ = Bnb4BitSerializer.ReadInfo(file, name);
                    _ = Bnb4BitSerializer.Read(file, name).Dequantize();
                }
            },
            Allowed = [typeof(SafetensorsFormatException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.StartsWith(path, StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not start with the file's path");
            },
            AllocationFactor = 24,
            AllocationSlack = 512 << 10,
        }.Run(output);
    }
}
