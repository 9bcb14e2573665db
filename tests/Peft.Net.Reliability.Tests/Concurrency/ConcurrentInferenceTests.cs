using System.Runtime.InteropServices;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Quantization;

namespace Peft.Net.Reliability.Tests.Concurrency;

/// <summary>
/// Inference on one model from several user threads at once gives bit-identical results to running the same
/// inputs one after another: modules hold no per-call mutable state, kernel scratch is per thread, and grad mode
/// is per thread. Covers embedding, RMSNorm, dense and NF4 linears (the GEMM packing hook), rotary, fused
/// causal attention and SwiGLU.
/// </summary>
public sealed class ConcurrentInferenceTests
{
    // Large enough that the GEMMs (≥ 2M multiply-adds) and attention take their multi-threaded paths.
    private const int Vocab = 97, Channels = 128, Time = 128;

    /// <summary>A one-block, one-head decoder built from the engine's modules.</summary>
    private sealed class TinyDecoder : Module
    {
        public TinyDecoder(TensorRandom random)
        {
            RegisterModule("embed", new Embedding(Vocab, Channels, random));
            RegisterModule("norm", new RmsNorm(Channels));
            foreach (string name in new[] { "q", "k", "v", "gate", "up", "down" })
                RegisterModule(name, new Linear(Channels, Channels, bias: false, random));
            RegisterModule("out", Nf4Linear.FromLinear(new Linear(Channels, Channels, bias: true, random)));
            RegisterModule("rotary", new RotaryEmbedding(Channels, 256));
            RegisterModule("head", new Linear(Channels, Vocab, bias: false, random));
        }

        private Tensor Apply(string name, Tensor x) => Child<Module>(name).Forward(x);

        // ids: (B, T) I32 token ids → logits (B, T, V)
        public override Tensor Forward(Tensor ids)
        {
            int batch = ids.Dim(0);
            var x = Apply("embed", ids);                                             // (B, T, C)
            var h = Apply("norm", x);
            var rotary = Child<RotaryEmbedding>("rotary");
            var q = rotary.Forward(Apply("q", h).Reshape(batch, 1, Time, Channels));  // (B, 1, T, C): one head
            var k = rotary.Forward(Apply("k", h).Reshape(batch, 1, Time, Channels));
            var v = Apply("v", h).Reshape(batch, 1, Time, Channels);
            var attention = Ops.ScaledDotProductAttention(q, k, v, causal: true).Reshape(batch, Time, Channels);
            x = Ops.Add(x, Apply("out", attention));
            h = Apply("norm", x);
            x = Ops.Add(x, Apply("down", Ops.SiluMul(Apply("gate", h), Apply("up", h))));
            return Apply("head", x);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ParallelInferenceMatchesSequentialBitForBit(bool noGrad)
    {
        var model = new TinyDecoder(new TensorRandom(11));
        model.Eval();
        var random = new Random(5);
        var inputs = Enumerable.Range(0, 6)
            .Select(_ => Tensor.Wrap(Enumerable.Range(0, 2 * Time).Select(_ => random.Next(Vocab)).ToArray(), 2, Time))
            .ToArray();
        float[] Run(Tensor ids)
        {
            using var scope = noGrad ? Tensor.NoGrad() : default;
            return model.Forward(ids).AsSpan().ToArray();
        }
        var expected = inputs.Select(Run).ToArray();

        var results = new float[6][][];
        var threads = Enumerable.Range(0, results.Length).Select(t => new Thread(() =>
        {
            // Each thread walks the inputs in its own order so different calls overlap.
            results[t] = new float[inputs.Length][];
            foreach (int i in Enumerable.Range(0, inputs.Length).OrderBy(i => (i * 7 + t * 3) % inputs.Length))
                results[t][i] = Run(inputs[i]);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        for (int t = 0; t < results.Length; t++)
        for (int i = 0; i < inputs.Length; i++)
            Assert.True(MemoryMarshal.AsBytes(expected[i].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(results[t][i].AsSpan())),
                $"thread {t}, input {i}: concurrent result differs from the sequential one");
    }
}
