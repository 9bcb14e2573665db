using Peft.Net.Core;
using Peft.Net.Core.Nn;

namespace Peft.Net.Reliability.Tests.Testing;

/// <summary>A base model with the module names LoRA targets in Llama models: q_proj [8→8], v_proj [8→4], mlp.down_proj [8→8].</summary>
public sealed class TinyLoraBase : Module
{
    public TinyLoraBase()
    {
        var random = new TensorRandom(3);
        RegisterModule("q_proj", new Linear(8, 8, bias: false, random));
        RegisterModule("v_proj", new Linear(8, 4, bias: true, random));
        RegisterModule("mlp", new Mlp(random));
    }

    public override Tensor Forward(Tensor x) =>
        Ops.Add(Child<Module>("q_proj").Forward(x), Child<Module>("mlp").Forward(x));

    private sealed class Mlp : Module
    {
        public Mlp(TensorRandom random) => RegisterModule("down_proj", new Linear(8, 8, bias: false, random));

        public override Tensor Forward(Tensor x) => Child<Module>("down_proj").Forward(x);
    }
}
