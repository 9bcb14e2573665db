using Peft.Net.Core;
using Peft.Net.Core.Optim;
using Xunit.Abstractions;

namespace Peft.Net.Reliability.Tests.Fuzz;

/// <summary>Mutated optimizer-state streams fail with <see cref="InvalidDataException"/>; states that read but do not fit fail to load with <see cref="ArgumentException"/>.</summary>
[Trait("Category", "Fuzz")]
public sealed class OptimizerStateFuzzTests(ITestOutputHelper output)
{
    public const double Share = 0.12;

    [Fact]
    public void MutatedStreamsFailCleanly()
    {
        var seeds = Enumerable.Range(0, 4).Select(SeedStream).ToList();
        new FuzzRunner
        {
            Target = "optimizer-state",
            Cases = FuzzSettings.CasesFor(Share),
            MakeCase = (_, rng) =>
            {
                var bytes = ByteMutator.Mutate(seeds[rng.Next(seeds.Count)], rng, out string what);
                bool seekable = rng.Next(4) != 0;
                return new FuzzCase(0, 0, seekable ? what : what + " (non-seekable stream)", bytes);
            },
            Exercise = c =>
            {
                using Stream stream = c.Mutation.EndsWith("(non-seekable stream)", StringComparison.Ordinal)
                    ? new ForwardOnlyStream(c.Input)
                    : new MemoryStream(c.Input, writable: false);
                var state = OptimizerState.ReadFrom(stream);
                BuildOptimizer().LoadStateDict(state);
            },
            Allowed = [typeof(InvalidDataException), typeof(ArgumentException)],
            AllocationFactor = 16,
            AllocationSlack = 256 << 10,
        }.Run(output);
    }

    /// <summary>Two groups of parameters with shapes [3, 4], [5] and [2, 2]: the optimizer each seed state fits.</summary>
    private static AdamW BuildOptimizer() =>
        new([
            new AdamWGroup([Tensor.Zeros(3, 4), Tensor.Zeros(5)], learningRate: 1e-3, name: "decay"),
            new AdamWGroup([Tensor.Zeros(2, 2)], learningRate: 2e-3, weightDecay: 0, name: "no_decay"),
        ]);

    private static byte[] SeedStream(int seed)
    {
        var optimizer = BuildOptimizer();
        var state = optimizer.StateDict();
        var rng = new Random(seed);
        var groups = state.Groups.Select(g => g with
        {
            Parameters = g.Parameters.Select((_, i) => seed % 2 == 0 && i == 0 ? null
                : new ParameterState(rng.Next(1, 100), [RandomFloats(rng, Size(g.Name, i)), RandomFloats(rng, Size(g.Name, i))])).ToArray(),
        }).ToArray();
        optimizer.LoadStateDict(state with { Groups = groups });
        using var stream = new MemoryStream();
        optimizer.StateDict().WriteTo(stream);
        return stream.ToArray();
    }

    private static int Size(string group, int index) => group == "decay" ? (index == 0 ? 12 : 5) : 4;

    private static float[] RandomFloats(Random rng, int count) => Enumerable.Range(0, count).Select(_ => (float)rng.NextDouble()).ToArray();

    /// <summary>A stream that cannot seek or tell its length, like a network or pipe stream.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
