// Peft.Net QuickStart: pre-train a tiny Llama, fine-tune it with LoRA, compare generations, save and merge the adapter.
// Run: dotnet run --project samples/QuickStart -c Release [-- --quick] [-- --model <checkpoint dir>]
using System.Diagnostics;
using Peft.Net;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Samples;
using QuickStart;
using Spectre.Console;

var options = QuickStartOptions.Parse(args);
var clock = Stopwatch.StartNew();
var tokenizer = new ByteTokenizer();
AnsiConsole.Write(new Rule("[bold]Peft.Net QuickStart[/]"));

// 1. A base model: loaded, or created and pre-trained for a minute on generated text.
LlamaForCausalLM model;
if (options.ModelDirectory is not null)
{
    model = LlamaForCausalLM.FromPretrained(options.ModelDirectory, DType.F32);
    AnsiConsole.MarkupLine($"Loaded the base model from [blue]{Markup.Escape(options.ModelDirectory)}[/].");
}
else
{
    model = BaseModel.Create();
    AnsiConsole.MarkupLine($"Pre-training a {model.ParameterCount() / 1000}k-parameter byte-level Llama on generated text…");
    var pretraining = new Trainer(model, BaseModel.PretrainingData(tokenizer), new TrainerOptions
    {
        MaxSteps = options.PretrainSteps, BatchSize = 8, LearningRate = 3e-3, WeightDecay = 0.01, WarmupSteps = 10,
        PadTokenId = ByteTokenizer.Pad, Seed = 1,
    });
    TrainingBar.Run("pre-training", pretraining);
    model.SavePretrained(Path.Combine(options.OutputDirectory, "base"));
}

// 2. The fine-tuning task: instructions the base model has never seen.
var generator = new DemoDataGenerator(seed: 7);
var examples = TrainingData.FromPromptCompletions(generator.Generate(options.Quick ? 300 : 2400, InstructionTask.Tasks).Select(InstructionTask.AsInstruction), tokenizer, maxLength: 96);
var (train, eval) = ExampleBuilder.Split(examples, evalFraction: 0.1, seed: 7);
var showcase = new DemoDataGenerator(seed: 99).Generate(5, InstructionTask.Tasks);
string[] Generate() => showcase.Select(e => Generation.Answer(model, tokenizer, InstructionTask.Prompt(e.Prompt))).ToArray();
var before = Generate();

// 3. LoRA: freeze the base, add rank-8 adapters on every linear layer but the head, train them.
var summary = model.ApplyLora(rank: 8, alpha: 16);
SummaryLine.Write("LoRA applied", summary);
var trainer = new Trainer(model, train, new TrainerOptions
{
    MaxSteps = options.FineTuneSteps, BatchSize = 8, LearningRate = 3e-3, EvalEvery = options.FineTuneSteps / 4,
    PadTokenId = ByteTokenizer.Pad, Seed = 7, OutputDirectory = Path.Combine(options.OutputDirectory, "adapter"),
}, eval);
double evalBefore = trainer.Evaluate();
var result = TrainingBar.Run("LoRA fine-tuning", trainer);
var after = Generate();

// 4. Save the adapter (HF PEFT layout), then merge it into the base weights: same answers, no adapter overhead.
string adapterDir = Path.Combine(options.OutputDirectory, "adapter");
model.SaveAdapter(adapterDir);
model.MergeAndUnload();
var merged = Generate();
model.SavePretrained(Path.Combine(options.OutputDirectory, "merged"));

var table = new Table().Border(TableBorder.Rounded).Title("Generations (greedy)");
foreach (var header in new[] { "prompt", "expected", "base model", "with LoRA", "merged" }) table.AddColumn(header);
for (int i = 0; i < showcase.Count; i++)
    table.AddRow(new[] { showcase[i].Prompt, showcase[i].Completion, before[i], after[i], merged[i] }.Select(c => new Text(c)).ToArray<Spectre.Console.Rendering.IRenderable>());
AnsiConsole.Write(table);

var numbers = new Table().Border(TableBorder.Rounded).AddColumn("").AddColumn(new TableColumn("value").RightAligned());
numbers.AddRow("eval loss before LoRA", $"{evalBefore:F3}");
numbers.AddRow("eval loss after LoRA", $"{result.FinalEvalLoss:F3}");
numbers.AddRow("exact answers (before → after)", $"{Score(before)} → {Score(after)} of {showcase.Count}");
numbers.AddRow("trainable parameters", $"{summary.TrainableParameters:N0} ({summary.TrainablePercent:F2} %)");
numbers.AddRow("adapter", adapterDir);
numbers.AddRow("wall time", $"{clock.Elapsed.TotalSeconds:F0} s");
AnsiConsole.Write(numbers);

// A run whose fine-tuning did not lower the eval loss is a failure (CI runs this sample in --quick mode).
if (!(result.FinalEvalLoss < evalBefore))
{
    AnsiConsole.MarkupLine($"[red]LoRA fine-tuning did not lower the eval loss ({evalBefore:F3} → {result.FinalEvalLoss:F3}).[/]");
    return 1;
}
return 0;

int Score(string[] answers) => answers.Where((a, i) => a == showcase[i].Completion).Count();
