using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Tests.Quantization;

/// <summary>An embedding, a block with two linear children, and an output head: enough structure for model surgery.</summary>
internal sealed class TinyQuantModel : Module
{
    public const int Vocabulary = 50, Dim = 64, Hidden = 96;

    public TinyQuantModel(int seed, string headName = "lm_head")
    {
        var random = new TensorRandom((ulong)seed);
        HeadName = headName;
        RegisterModule("embed", new Embedding(Vocabulary, Dim, random));
        RegisterModule("block", new TinyBlock(random));
        RegisterModule(headName, new Linear(Dim, Vocabulary, bias: false, random));
    }

    public string HeadName { get; }

    // x: (..., Dim) → (..., Vocabulary)
    public override Tensor Forward(Tensor input) => Child<Module>(HeadName).Forward(Child<Module>("block").Forward(input));
}

internal sealed class TinyBlock : Module
{
    public TinyBlock(TensorRandom random)
    {
        RegisterModule("up", new Linear(TinyQuantModel.Dim, TinyQuantModel.Hidden, bias: true, random));
        RegisterModule("down", new Linear(TinyQuantModel.Hidden, TinyQuantModel.Dim, bias: false, random));
    }

    public override Tensor Forward(Tensor input) => Child<Module>("down").Forward(Child<Module>("up").Forward(input));
}
