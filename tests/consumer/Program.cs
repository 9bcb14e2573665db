// The consumer test's program: what a new user writes after `dotnet add package Peft.Net`. It only uses the public
// API of the installed packages. A tiny MLP learns which quarter of its input has the largest sum; the test passes
// when the training loss at least halves. The trained weights are saved so the `peft` tool can inspect them.
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;

const int Samples = 64, Features = 16, Hidden = 32, Classes = 4, Steps = 40;
string weightsFile = args.Length > 0 ? args[0] : "tiny-mlp.safetensors";

var random = new TensorRandom(42);
var x = Tensor.Normal([Samples, Features], 0f, 1f, random);
int[] targets = LargestQuarter(x.AsSpan(), Samples, Features, Classes);

var model = new TinyMlp(Features, Hidden, Classes, random);
var optimizer = new AdamW(model.TrainableParameters(), learningRate: 1e-2);
float first = float.NaN, last = float.NaN;
for (int step = 0; step < Steps; step++)
{
    var loss = Ops.CrossEntropy(model.Forward(x), targets);
    loss.Backward();
    optimizer.Step();
    optimizer.ZeroGrad();
    last = loss.Item();
    if (step == 0) first = last;
}

Safetensors.Save(weightsFile, model.StateDict());
Console.WriteLine($"MLP ({model.ParameterCount()} parameters): loss {first:F4} -> {last:F4} in {Steps} AdamW steps; weights in {weightsFile}");
if (!(last < 0.5f * first))
{
    Console.Error.WriteLine("FAIL: the training loss did not halve.");
    return 1;
}
Console.WriteLine("OK");
return 0;

// targets[n] = the index of the quarter of row n of x [N, F] with the largest sum.
static int[] LargestQuarter(ReadOnlySpan<float> x, int rows, int features, int classes)
{
    var targets = new int[rows];
    int width = features / classes;
    for (int n = 0; n < rows; n++)
    {
        float best = float.NegativeInfinity;
        for (int c = 0; c < classes; c++)
        {
            float sum = 0;
            foreach (float v in x.Slice(n * features + c * width, width)) sum += v;
            if (sum > best) (best, targets[n]) = (sum, c);
        }
    }
    return targets;
}

/// <summary>
/// Linear → ReLU → Linear, registered the way library modules are. Children are read back as Module, not Linear,
/// so model surgery (LoRA wrappers, 4-bit layers) can replace them.
/// </summary>
sealed class TinyMlp : Module
{
    public TinyMlp(int inFeatures, int hidden, int outFeatures, TensorRandom random)
    {
        RegisterModule("fc1", new Linear(inFeatures, hidden, random: random));
        RegisterModule("fc2", new Linear(hidden, outFeatures, random: random));
    }

    // x: (N, in) → logits (N, out)
    public override Tensor Forward(Tensor input) =>
        Child<Module>("fc2").Forward(Ops.Relu(Child<Module>("fc1").Forward(input)));
}
