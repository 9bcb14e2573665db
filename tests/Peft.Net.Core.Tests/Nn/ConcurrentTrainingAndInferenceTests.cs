using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;
using Peft.Net.Core.Tests.Testing;

namespace Peft.Net.Core.Tests.Nn;

/// <summary>
/// Training one model while another serves inference, on two threads of one process that share the kernel thread
/// pool, gives bit-identical losses, weights and logits to running the two one after the other on one thread.
/// </summary>
[Collection(RunnerMeasurements.Name)]
public class ConcurrentTrainingAndInferenceTests
{
    // B·T = 512 rows of 128 channels: the GEMMs (≥ 8M multiply-adds), attention, norms and element-wise kernels
    // all take their multi-threaded paths.
    private const int Vocab = 384, Channels = 128, Heads = 2, Batch = 4, Time = 128, HeadDim = Channels / Heads;

    /// <summary>One decoder block (attention + SwiGLU MLP, RMSNorm before each) and a head, from the engine's modules.</summary>
    private sealed class TinyDecoder : Module
    {
        public TinyDecoder(int seed)
        {
            var random = new TensorRandom((ulong)seed);
            RegisterModule("embed", new Embedding(Vocab, Channels, random));
            RegisterModule("norm1", new RmsNorm(Channels));
            RegisterModule("norm2", new RmsNorm(Channels));
            foreach (string name in new[] { "q", "k", "v", "o" })
                RegisterModule(name, new Linear(Channels, Channels, bias: false, random));
            RegisterModule("gate", new Linear(Channels, 2 * Channels, bias: false, random));
            RegisterModule("up", new Linear(Channels, 2 * Channels, bias: false, random));
            RegisterModule("down", new Linear(2 * Channels, Channels, bias: false, random));
            RegisterModule("head", new Linear(Channels, Vocab, bias: true, random));
        }

        private Tensor Apply(string name, Tensor x) => Child<Module>(name).Forward(x);

        // ids: (B, T) I32 → logits (B, T, V)
        public override Tensor Forward(Tensor ids)
        {
            var x = Apply("embed", ids);                                                   // (B, T, C)
            var h = Apply("norm1", x);
            var q = Apply("q", h).Reshape(Batch, Time, Heads, HeadDim);                    // (B, T, H, D)
            var k = Apply("k", h).Reshape(Batch, Time, Heads, HeadDim);
            var v = Apply("v", h).Reshape(Batch, Time, Heads, HeadDim);
            var attention = Ops.ScaledDotProductAttention(q, k, v, causal: true, layout: AttentionLayout.BatchTimeHeads);
            x = Ops.Add(x, Apply("o", attention.Reshape(Batch, Time, Channels)));
            h = Apply("norm2", x);
            x = Ops.Add(x, Apply("down", Ops.SiluMul(Apply("gate", h), Apply("up", h))));
            return Apply("head", x);
        }
    }

    private sealed record Outcome(float[] Losses, float[][] Weights, float[][] Logits);

    private static Tensor Ids(Random random) =>
        Tensor.Wrap(Enumerable.Range(0, Batch * Time).Select(_ => random.Next(Vocab)).ToArray(), Batch, Time);

    // Six AdamW steps of cross-entropy on fixed random batches, the target of a token a fixed function of it (so
    // the loss falls); returns the losses and the trained weights.
    private static (float[] Losses, float[][] Weights) Train()
    {
        var model = new TinyDecoder(seed: 3);
        var optimizer = new AdamW(model.Parameters(), learningRate: 1e-2);
        var random = new Random(17);
        var losses = new float[6];
        for (int step = 0; step < losses.Length; step++)
        {
            var ids = Ids(random);
            var targets = ids.AsSpan<int>().ToArray().Select(id => (id * 7 + 1) % Vocab).ToArray();
            var loss = Ops.CrossEntropy(model.Forward(ids), targets);
            losses[step] = loss.Item();
            loss.Backward();
            optimizer.Step();
            optimizer.ZeroGrad();
        }
        return (losses, model.Parameters().Select(p => p.AsSpan().ToArray()).ToArray());
    }

    // Logits of another model for eight fixed batches, without gradients.
    private static float[][] Infer()
    {
        var model = new TinyDecoder(seed: 5);
        model.Eval();
        var random = new Random(23);
        using var noGrad = Tensor.NoGrad();
        return Enumerable.Range(0, 8).Select(_ => model.Forward(Ids(random)).AsSpan().ToArray()).ToArray();
    }

    // The reference: training, then inference, on the calling thread alone (computed once for both thread counts).
    private static readonly Lazy<Outcome> Sequential = new(() => WithThreads.Run(1, () =>
    {
        var (losses, weights) = Train();
        return new Outcome(losses, weights, Infer());
    }));

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Training_beside_inference_matches_running_them_one_after_the_other_on_one_thread(int threads)
    {
        var sequential = Sequential.Value;

        var concurrent = WithThreads.Run(threads, () =>
        {
            (float[] Losses, float[][] Weights) trained = ([], []);
            float[][] logits = [];
            Exception? failure = null;
            var start = new Barrier(2);
            var trainer = new Thread(() => Catch(() => trained = Train()));
            var server = new Thread(() => Catch(() => logits = Infer()));
            trainer.Start();
            server.Start();
            Assert.True(trainer.Join(TimeSpan.FromMinutes(2)) && server.Join(TimeSpan.FromMinutes(2)), "training or inference did not finish");
            if (failure is not null) throw new AggregateException(failure);
            return new Outcome(trained.Losses, trained.Weights, logits);

            void Catch(Action body)
            {
                start.SignalAndWait();
                try
                {
                    body();
                }
                catch (Exception e)
                {
                    failure = e;
                }
            }
        });

        Assert.All(sequential.Losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(sequential.Losses[^1] < sequential.Losses[0], "training did not lower the loss");
        TensorAssert.BitEqual(sequential.Losses, concurrent.Losses, "losses");
        Assert.Equal(sequential.Weights.Length, concurrent.Weights.Length);
        for (int i = 0; i < sequential.Weights.Length; i++)
            TensorAssert.BitEqual(sequential.Weights[i], concurrent.Weights[i], $"trained parameter {i}");
        Assert.Equal(sequential.Logits.Length, concurrent.Logits.Length);
        for (int i = 0; i < sequential.Logits.Length; i++)
            TensorAssert.BitEqual(sequential.Logits[i], concurrent.Logits[i], $"logits of batch {i}");
    }
}
