using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Tests.Testing;
using Peft.Net.Lora;
using Peft.Net.Neftune;

namespace Peft.Net.Tests.Neftune;

public class NeftuneEmbeddingTests
{
    private static int[] Ids(int count, int vocab, ulong seed)
    {
        var random = new TensorRandom(seed);
        return Enumerable.Range(0, count).Select(_ => random.NextInt(vocab)).ToArray();
    }

    [Fact]
    public void NoiseIsUniformOnAlphaOverSqrtLengthTimesDim()
    {
        const int batch = 8, time = 32, dim = 48, vocab = 50;
        const float alpha = 5;
        var embedding = new Embedding(vocab, dim, new TensorRandom(1));
        var neftune = new NeftuneEmbedding(embedding, alpha, new TensorRandom(2));
        var ids = Ids(batch * time, vocab, 3);
        var clean = embedding.Forward(ids, batch, time).ToArray();
        var noisy = neftune.Forward(ids, batch, time).ToArray();

        double bound = alpha / Math.Sqrt(time * dim);   // L = padded length (dimension 1), d = embedding size
        double sum = 0, sumSquares = 0, maxAbs = 0;
        for (int i = 0; i < clean.Length; i++)
        {
            double noise = noisy[i] - (double)clean[i];
            sum += noise;
            sumSquares += noise * noise;
            maxAbs = Math.Max(maxAbs, Math.Abs(noise));
        }
        int n = clean.Length;
        double mean = sum / n, variance = sumSquares / n - mean * mean;
        Assert.True(maxAbs <= bound * (1 + 1e-5), $"max |noise| {maxAbs} exceeds α/√(L·d) = {bound}");
        Assert.True(maxAbs > 0.99 * bound, $"max |noise| {maxAbs} should approach the bound {bound} over {n} samples");
        double expectedVariance = bound * bound / 3;   // Var U(−c, c) = c²/3
        Assert.InRange(variance, 0.95 * expectedVariance, 1.05 * expectedVariance);
        Assert.InRange(mean, -0.02 * bound, 0.02 * bound);
    }

    [Fact]
    public void EvalModeIsExactlyTheEmbedding()
    {
        var embedding = new Embedding(20, 8, new TensorRandom(1));
        var neftune = new NeftuneEmbedding(embedding, 10, new TensorRandom(2));
        neftune.Eval();
        var ids = Ids(12, 20, 4);
        TensorAssert.BitEqual(embedding.Forward(ids, 3, 4).ToArray(), neftune.Forward(ids, 3, 4).ToArray());
        TensorAssert.BitEqual(embedding.Forward(ids, 3, 4).ToArray(), neftune.ForwardMasked(ids, [3, 4], Enumerable.Repeat(1, 12).ToArray()).ToArray());
        neftune.Train();
        Assert.NotEqual(embedding.Forward(ids, 3, 4).ToArray(), neftune.Forward(ids, 3, 4).ToArray());
    }

    [Fact]
    public void SameSeedSameNoiseAndTheWeightKeepsItsName()
    {
        var embedding = new Embedding(20, 8, new TensorRandom(1));
        embedding.RequiresGrad(false);
        var a = new NeftuneEmbedding(embedding, 5, new TensorRandom(9));
        var b = new NeftuneEmbedding(embedding, 5, new TensorRandom(9));
        var ids = Ids(6, 20, 5);
        TensorAssert.BitEqual(a.Forward(ids, 2, 3).ToArray(), b.Forward(ids, 2, 3).ToArray());
        Assert.Equal(["weight"], a.NamedParameters().Select(p => p.Name));
        Assert.Same(embedding.Weight, a.Weight);
        Assert.False(a.Weight.RequiresGrad); // wrapping does not unfreeze a frozen table
        Assert.Same(embedding, a.Unwrap());
    }

    [Fact]
    public void GradientFlowsToATrainableTable()
    {
        var random = new TensorRandom(6);
        var weight = Tensor.Normal([9, 4], 0, 1, random);
        weight.RequiresGrad = true;
        var ids = Ids(6, 9, 7);
        GradCheck.Assert(t =>
        {
            var embedding = new Embedding(9, 4);
            embedding.ReplaceParameter("weight", t[0]);
            return new NeftuneEmbedding(embedding, 5, new TensorRandom(8)).Forward(ids, 2, 3);
        }, [weight]);
    }

    [Fact]
    public void MaskedVariantUsesPerExampleLengthAndSparesPadding()
    {
        const int time = 16, dim = 32, vocab = 30;
        const float alpha = 15;
        var embedding = new Embedding(vocab, dim, new TensorRandom(1));
        var neftune = new NeftuneEmbedding(embedding, alpha, new TensorRandom(2));
        var ids = Ids(2 * time, vocab, 3);
        var mask = new int[2 * time];
        for (int t = 0; t < time; t++) { mask[t] = 1; mask[time + t] = t < 4 ? 1 : 0; }  // lengths 16 and 4
        var clean = embedding.Forward(ids, 2, time).ToArray();
        var noisy = neftune.ForwardMasked(ids, [2, time], mask).ToArray();
        for (int b = 0; b < 2; b++)
        {
            double bound = alpha / Math.Sqrt((b == 0 ? 16 : 4) * dim);
            double maxAbs = 0;
            for (int t = 0; t < time; t++)
                for (int j = 0; j < dim; j++)
                {
                    int i = (b * time + t) * dim + j;
                    double noise = noisy[i] - (double)clean[i];
                    if (mask[b * time + t] == 0) Assert.Equal(0, noise);
                    maxAbs = Math.Max(maxAbs, Math.Abs(noise));
                }
            Assert.InRange(maxAbs, 0.9 * bound, bound * (1 + 1e-5));
        }
    }

    [Fact]
    public void LoraEmbeddingNoisesItsWholeOutputInTrainingOnly()
    {
        const int batch = 4, time = 24, dim = 16, vocab = 40;
        const float alpha = 5;
        var random = new TensorRandom(1);
        var layer = new LoraEmbedding(new Embedding(vocab, dim, random));
        layer.AddAdapter("default", new LoraAdapterOptions(Rank: 2), random);
        Tensor.Normal([2, vocab], 0, 0.5f, random).AsSpan().CopyTo(layer.GetLoraA("default").AsSpan());
        var ids = Ids(batch * time, vocab, 2);
        var clean = layer.Forward(ids, batch, time).ToArray();
        layer.NeftuneNoiseAlpha = alpha;
        layer.NeftuneRandom = new TensorRandom(3);
        var noisy = layer.Forward(ids, batch, time).ToArray();
        double bound = alpha / Math.Sqrt(time * dim), maxAbs = 0;
        for (int i = 0; i < clean.Length; i++) maxAbs = Math.Max(maxAbs, Math.Abs(noisy[i] - (double)clean[i]));
        Assert.InRange(maxAbs, 0.98 * bound, bound * (1 + 1e-5));
        layer.Eval();
        TensorAssert.BitEqual(clean, layer.Forward(ids, batch, time).ToArray(), "eval");
        Assert.Throws<ArgumentOutOfRangeException>(() => layer.NeftuneNoiseAlpha = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => new NeftuneEmbedding(new Embedding(3, 2), float.NaN));
    }
}
