// The consumer test's program: what a new user writes after `dotnet add package Peft.Net`. It only uses the public
// API of the installed packages.
//   1. A tiny MLP learns which quarter of its input has the largest sum (all weights trained).
//   2. model.ApplyLora(rank: 8) freezes it and adds adapters; they learn a new task: the quarter with the smallest sum.
// Each phase must at least halve its training loss, LoRA must train only the adapters and leave the base weights
// untouched. The weights and the adapter are saved into the folder given as the argument, for the `peft` tool.
using Peft.Net;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;

const int Samples = 64, Features = 16, Hidden = 32, Classes = 4, Steps = 40, Rank = 8;
string outputDirectory = args.Length > 0 ? args[0] : ".";

var random = new TensorRandom(42);
var x = Tensor.Normal([Samples, Features], 0f, 1f, random);
var model = new TinyMlp(Features, Hidden, Classes, random);

var (first, last) = Train(model, x, QuarterBySum(x.AsSpan(), Samples, Features, Classes, largest: true));
string weightsFile = Path.Combine(outputDirectory, "tiny-mlp.safetensors");
Safetensors.Save(weightsFile, model.StateDict());
Console.WriteLine($"MLP ({model.ParameterCount()} parameters): loss {first:F4} -> {last:F4} in {Steps} AdamW steps; weights in {weightsFile}");
if (!(last < 0.5f * first)) return Fail("full training: the loss did not halve");

var baseWeights = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.ToArray());
var summary = model.ApplyLora(rank: Rank);
long expectedTrainable = Rank * (Features + Hidden) + Rank * (Hidden + Classes);   // A [r, in] + B [out, r] per layer
if (summary.TrainableParameters != expectedTrainable)
    return Fail($"ApplyLora made {summary.TrainableParameters} parameters trainable, expected {expectedTrainable}");

(first, last) = Train(model, x, QuarterBySum(x.AsSpan(), Samples, Features, Classes, largest: false));
Console.WriteLine($"LoRA r={Rank} ({summary}): new task loss {first:F4} -> {last:F4} in {Steps} AdamW steps");
if (!(last < 0.5f * first)) return Fail("LoRA training: the loss did not halve");
int baseChecked = 0;
foreach (var (name, parameter) in model.NamedParameters())
{
    // LoraLinear keeps the wrapped layer as "base_layer", as PEFT does: fc1.weight is now fc1.base_layer.weight.
    if (!baseWeights.TryGetValue(name.Replace(".base_layer.", "."), out var before)) continue;
    if (parameter.RequiresGrad) return Fail($"the base weight {name} is trainable after ApplyLora");
    if (!before.AsSpan().SequenceEqual(parameter.ToArray())) return Fail($"the frozen base weight {name} changed during LoRA training");
    baseChecked++;
}
if (baseChecked != baseWeights.Count) return Fail($"found {baseChecked} of the {baseWeights.Count} base tensors after ApplyLora");

string adapterDirectory = Path.Combine(outputDirectory, "mlp-adapter");
model.SaveAdapter(adapterDirectory);
Console.WriteLine($"adapter saved in {adapterDirectory}");
Console.WriteLine("OK");
return 0;

static int Fail(string message)
{
    Console.Error.WriteLine($"FAIL: {message}.");
    return 1;
}

// Full-batch AdamW on cross-entropy; returns the first and the last training loss.
static (float First, float Last) Train(Module model, Tensor x, int[] targets)
{
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
    return (first, last);
}

// targets[n] = the index of the quarter of row n of x [N, F] with the largest (or smallest) sum.
static int[] QuarterBySum(ReadOnlySpan<float> x, int rows, int features, int classes, bool largest)
{
    var targets = new int[rows];
    int width = features / classes;
    for (int n = 0; n < rows; n++)
    {
        float best = float.NaN;
        for (int c = 0; c < classes; c++)
        {
            float sum = 0;
            foreach (float v in x.Slice(n * features + c * width, width)) sum += v;
            if (c == 0 || (largest ? sum > best : sum < best)) (best, targets[n]) = (sum, c);
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
