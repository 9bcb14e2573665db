using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Models.Training;

namespace Peft.Net.Models.Tests.Training;

/// <summary>embedding → RMSNorm → linear head: the smallest causal "language model" the trainer can fit (a bigram model).</summary>
internal sealed class TinyLanguageModel : Module, ICausalLanguageModel
{
    public TinyLanguageModel(int vocab = 32, int dim = 16, ulong seed = 1)
    {
        var random = new TensorRandom(seed);
        RegisterModule("embed", new Embedding(vocab, dim, random));
        RegisterModule("norm", new RmsNorm(dim));
        RegisterModule("head", new Linear(dim, vocab, bias: false, random));
        Vocab = vocab;
    }

    public int Vocab { get; }

    /// <summary>Multiplies the loss of the calls whose 0-based index is in this set by NaN.</summary>
    public HashSet<int> NanCalls { get; } = [];

    public int Calls { get; private set; }

    /// <summary>When set, training-mode forwards add N(0, 0.1) noise to the embeddings drawn from this generator (like NEFTune).</summary>
    public TensorRandom? Noise { get; init; }

    Module ICausalLanguageModel.Module => this;

    public Tensor Loss(ReadOnlySpan<int> inputIds, ReadOnlySpan<int> labels, int batch, int time)
    {
        var embedded = Child<Embedding>("embed").Forward(inputIds, batch, time);
        if (Noise is not null && IsTraining)
            embedded = Ops.Add(embedded, Tensor.Normal(embedded.ShapeArray(), 0f, 0.1f, Noise));
        var hidden = Child<Module>("norm").Forward(embedded);
        var logits = Child<Module>("head").Forward(hidden);
        var targets = new int[batch * time];
        for (int b = 0; b < batch; b++)
        for (int t = 0; t < time; t++)
            targets[b * time + t] = t + 1 < time ? labels[b * time + t + 1] : ExampleBuilder.IgnoreIndex;
        var loss = Ops.CrossEntropy(logits, targets);
        return NanCalls.Contains(Calls++) ? Ops.MulScalar(loss, float.NaN) : loss;
    }

    /// <summary>Sequences that follow "next = (3·current + 1) mod vocab" from random starts: learnable by a bigram model.</summary>
    public static List<TokenizedExample> Data(int count, int length, int vocab = 32, ulong seed = 7)
    {
        var random = new TensorRandom(seed);
        var examples = new List<TokenizedExample>();
        for (int i = 0; i < count; i++)
        {
            int n = length - random.NextInt(length / 2);
            var ids = new int[n];
            ids[0] = random.NextInt(vocab);
            for (int t = 1; t < n; t++) ids[t] = (3 * ids[t - 1] + 1) % vocab;
            examples.Add(new TokenizedExample(ids, (int[])ids.Clone()));
        }
        return examples;
    }
}
