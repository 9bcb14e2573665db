// The TorchSharp consumer app of tests/consumer/run.sh: built against the packed Peft.Net.TorchSharp with the CPU
// LibTorch and the package's opt-in GLIBCXX fix, it LoRA-adapts a small TorchSharp model, trains it and saves the
// adapter. Exits non-zero when anything is off.
using Peft.Net.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

string output = args.Length > 0 ? args[0] : Path.GetTempPath();
torch.manual_seed(0);
var model = new Mlp();
var summary = model.ApplyLora(rank: 8, alpha: 16);
Console.WriteLine(summary);
var optimizer = new LoraPlusOptimizer(model, learningRate: 1e-2, loraPlusRatio: 4);
var x = torch.randn(32, 16);
var y = x.sum(1, keepdim: true);
double first = 0, last = 0;
for (int step = 0; step < 30; step++)
{
    using var scope = torch.NewDisposeScope();
    optimizer.zero_grad();
    var loss = nn.functional.mse_loss(model.call(x), y);
    loss.backward();
    optimizer.step();
    if (step == 0) first = loss.item<float>();
    last = loss.item<float>();
}
Console.WriteLine($"loss {first:F4} -> {last:F4}");
if (!(last < first)) { Console.Error.WriteLine("consumer: FAIL: the TorchSharp LoRA model did not learn"); return 1; }
string dir = Path.Combine(output, "torchsharp-adapter");
model.SaveAdapter(dir);
if (!File.Exists(Path.Combine(dir, "adapter_model.safetensors"))) { Console.Error.WriteLine("consumer: FAIL: no adapter written"); return 1; }
Console.WriteLine($"adapter written to {dir}");
return 0;

sealed class Mlp : nn.Module<Tensor, Tensor>
{
    public nn.Module<Tensor, Tensor> fc1 = nn.Linear(16, 32), fc2 = nn.Linear(32, 1);

    public Mlp() : base(nameof(Mlp)) => RegisterComponents();

    public override Tensor forward(Tensor x) => fc2.call(nn.functional.relu(fc1.call(x)));
}
