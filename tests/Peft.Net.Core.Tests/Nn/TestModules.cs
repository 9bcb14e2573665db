using Peft.Net.Core.Nn;

namespace Peft.Net.Core.Tests.Nn;

/// <summary>Two linear layers in sequence, plus a persistent and a non-persistent buffer.</summary>
internal sealed class TestBlock : Module
{
    public TestBlock(int width, TensorRandom random)
    {
        RegisterModule("first", new Linear(width, width, bias: true, random));
        RegisterModule("second", new Linear(width, width, bias: false, random));
        RegisterBuffer("running_mean", Tensor.Zeros(width));
        RegisterBuffer("scratch", Tensor.Zeros(width), persistent: false);
    }

    public override Tensor Forward(Tensor input) => Child<Module>("second").Forward(Child<Module>("first").Forward(input));
}

/// <summary>A container like PyTorch's ModuleList: children named "0", "1", ….</summary>
internal sealed class TestSequence : Module
{
    public TestSequence(IEnumerable<Module> modules)
    {
        int i = 0;
        foreach (var module in modules) RegisterModule((i++).ToString(), module);
    }

    public override Tensor Forward(Tensor input)
    {
        foreach (var (_, module) in NamedChildren()) input = module.Forward(input);
        return input;
    }
}

/// <summary>An output head whose weight is the model's embedding (tied weights).</summary>
internal sealed class TiedHead : Module
{
    public TiedHead(Tensor embedding) => RegisterParameter("weight", embedding);

    public override Tensor Forward(Tensor input) => Ops.Linear(input, Parameter("weight")!);
}

/// <summary>embedding [V, C] (a root parameter), layers.{0,1} (TestBlock), head (tied to the embedding).</summary>
internal sealed class TestModel : Module
{
    public const int Vocab = 5;
    public const int Width = 4;

    public TestModel(ulong seed = 1)
    {
        var random = new TensorRandom(seed);
        RegisterModule("layers", new TestSequence([new TestBlock(Width, random), new TestBlock(Width, random)]));
        var embedding = RegisterParameter("embedding", Tensor.Normal([Vocab, Width], 0, 1, random))!;
        RegisterModule("head", new TiedHead(embedding));
    }

    /// <summary>x [T, C] → logits [T, V].</summary>
    public override Tensor Forward(Tensor input) => Child<Module>("head").Forward(Child<Module>("layers").Forward(input));

    public Tensor Embedding => Parameter("embedding")!;

    public T ChildAs<T>(string name) where T : class => Child<T>(name);

    public void Register(string name) => RegisterParameter(name, Tensor.Zeros(1));
}

/// <summary>Multiplies its input by a constant: an easy replacement to observe in a forward pass.</summary>
internal sealed class Scale(float factor) : Module
{
    public override Tensor Forward(Tensor input)
    {
        var values = input.ToArray();
        for (int i = 0; i < values.Length; i++) values[i] *= factor;
        return Tensor.FromArray(values, input.ShapeArray());
    }
}

/// <summary>A module with no single-input forward.</summary>
internal sealed class Empty : Module;
