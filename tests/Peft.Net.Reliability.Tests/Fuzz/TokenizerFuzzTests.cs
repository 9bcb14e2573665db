using System.Text;
using Peft.Net.Models.Tokenization;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>Mutated tokenizer.json documents fail with <see cref="InvalidDataException"/> or <see cref="NotSupportedException"/>; the ones that load encode and decode text.</summary>
[Trait("Category", "Fuzz")]
public sealed class TokenizerFuzzTests(ITestOutputHelper output)
{
    public const double Share = 0.12;

    private const string Source = "fuzz/tokenizer.json";
    private const string Sample = "Hello world, it's 2024! héllo 日本語 🙂\n\ttabs  and   spaces <unk> <s></s>";

    [Fact]
    public void MutatedDocumentsFailCleanly()
    {
        var seeds = new[] { "gpt2", "llama2", "llama3", "metaspace" }
            .Select(name => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", name, "tokenizer.json")))
            .ToList();
        new FuzzRunner
        {
            Target = "tokenizer.json",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var seed = seeds[rng.Next(seeds.Count)];
                string what;
                var bytes = rng.Next(5) == 0 ? ByteMutator.Mutate(seed, rng, out what) : JsonMutator.Mutate(seed, rng, out what);
                return new FuzzCase(0, 0, what, bytes);
            },
            Exercise = c =>
            {
                var tokenizer = BpeTokenizer.FromJson(Encoding.UTF8.GetString(c.Input), Source);
                var ids = tokenizer.Encode(Sample, addSpecialTokens: true);
                _ = tokenizer.Decode(ids);
                _ = tokenizer.Decode(ids, skipSpecialTokens: true);
            },
            Allowed = [typeof(InvalidDataException), typeof(NotSupportedException)],
            CheckMessage = (_, e) =>
            {
                if (!e.Message.Contains(Source, StringComparison.Ordinal))
                    throw new InvalidOperationException("the message does not name the file");
            },
            // Building a tokenizer makes dictionaries of the vocabulary and merges: tens of times the text.
            AllocationFactor = 64,
            AllocationSlack = 2 << 20,
        }.Run(output);
    }
}
