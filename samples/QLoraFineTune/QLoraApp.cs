using Peft.Net;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;
using Peft.Net.Models.Training;
using Peft.Net.Quantization;
using Peft.Net.Samples;
using Spectre.Console;

namespace QLoraFineTune;

/// <summary>QuickStart with a 4-bit base: quantize, add LoRA, train, save the adapter; float32 LoRA alongside for reference.</summary>
public static class QLoraApp
{
    private const double LearningRate = 2e-3;

    /// <summary>The console entry point: 0 on success, 1 on bad arguments.</summary>
    public static int Run(string[] args)
    {
        QLoraOptions options;
        try
        {
            options = QLoraOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            return 1;
        }
        Execute(options);
        return 0;
    }

    /// <summary>Runs both fine-tunings, prints memory and loss tables, writes <c>loss_curves.svg</c> and the QLoRA adapter.</summary>
    public static QLoraReport Execute(QLoraOptions options)
    {
        AnsiConsole.Write(new Rule($"[bold]Peft.Net QLoRA fine-tuning{(options.Quick ? " (quick)" : "")}[/]"));
        string baseDirectory = Path.Combine(options.OutputDirectory, "base");
        DemoSetup.CreateBaseModel(baseDirectory, options.Quick, options.PretrainSteps);
        var (train, eval) = DemoSetup.FineTuneData(options.ExampleCount);

        // Float32 LoRA: the reference.
        var lora = LlamaForCausalLM.FromPretrained(baseDirectory, DType.F32);
        lora.ApplyLora(rank: 8, alpha: 16);
        var (loraStart, loraEval, loraCurve) = FineTune("LoRA (float32 base)", lora, train, eval, options);

        // QLoRA: the same base, its linear layers stored as NF4 with double-quantized absmax, then the same LoRA.
        var qlora = LlamaForCausalLM.FromPretrained(baseDirectory, DType.F32);
        long bytesBefore = DemoSetup.StoredBytes(qlora);
        var quantization = qlora.QuantizeNf4(doubleQuant: true);
        long bytesAfter = DemoSetup.StoredBytes(qlora);
        var summary = qlora.ApplyLora(rank: 8, alpha: 16);
        AnsiConsole.MarkupLine($"QLoRA: {quantization.ConvertedLayers.Count} linear layers in NF4 ({quantization.BitsPerParameter:F3} bits per weight), " +
            $"{quantization.SkippedLayers.Count} kept (the head / tied embedding); LoRA: {Markup.Escape(summary.ToString())}");
        var (qloraStart, qloraEval, qloraCurve) = FineTune("QLoRA (NF4 base)", qlora, train, eval, options);
        string adapterDirectory = Path.Combine(options.OutputDirectory, "qlora-adapter");
        qlora.SaveAdapter(adapterDirectory);

        var memory = new Table().Border(TableBorder.Rounded).Title("Base weights, bytes actually stored")
            .AddColumn("").AddColumn(new TableColumn("float32").RightAligned()).AddColumn(new TableColumn("NF4 + double quant").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned());
        memory.AddRow("converted linear weights", DemoSetup.Megabytes(quantization.BytesBefore), DemoSetup.Megabytes(quantization.BytesAfter), $"{quantization.CompressionRatio:F2}×");
        memory.AddRow("whole model (every weight)", DemoSetup.Megabytes(bytesBefore), DemoSetup.Megabytes(bytesAfter), $"{(double)bytesBefore / bytesAfter:F2}×");
        AnsiConsole.Write(memory);

        var losses = new Table().Border(TableBorder.Rounded).Title("Training loss (same data, steps and seed)")
            .AddColumn(new TableColumn("step").RightAligned()).AddColumn(new TableColumn("LoRA").RightAligned()).AddColumn(new TableColumn("QLoRA").RightAligned());
        int stride = Math.Max(1, loraCurve.Count / 10);
        for (int i = 0; i < loraCurve.Count; i += stride)
            losses.AddRow($"{loraCurve[i].Step}", $"{loraCurve[i].Loss:F3}", i < qloraCurve.Count ? $"{qloraCurve[i].Loss:F3}" : "");
        losses.AddRow("[bold]eval[/]", $"[bold]{loraEval:F3}[/]", $"[bold]{qloraEval:F3}[/]");
        AnsiConsole.Write(losses);

        string chartPath = Path.Combine(options.OutputDirectory, "loss_curves.svg");
        new SvgLineChart("LoRA on a float32 base vs QLoRA (NF4 + double quant)", "step", "training loss")
            .AddSeries("LoRA (float32)", loraCurve).AddSeries("QLoRA (NF4)", qloraCurve).Save(chartPath);
        AnsiConsole.MarkupLine($"Loss curves: [blue]{Markup.Escape(chartPath)}[/]; QLoRA adapter: [blue]{Markup.Escape(adapterDirectory)}[/]");
        return new QLoraReport(bytesBefore, bytesAfter, quantization.BytesBefore, quantization.BytesAfter, loraEval, qloraEval, loraCurve, qloraCurve, loraStart, qloraStart);
    }

    private static (double StartEvalLoss, double EvalLoss, IReadOnlyList<(double Step, double Loss)> Curve) FineTune(string title, LlamaForCausalLM model,
        IReadOnlyList<TokenizedExample> train, IReadOnlyList<TokenizedExample> eval, QLoraOptions options)
    {
        var trainer = new Trainer(model, train, new TrainerOptions
        {
            MaxSteps = options.FineTuneSteps, BatchSize = options.BatchSize, LearningRate = LearningRate,
            EvalEvery = Math.Max(1, options.FineTuneSteps / 4), PadTokenId = ByteTokenizer.Pad, Seed = 7,
        }, eval);
        double start = trainer.Evaluate();
        var result = TrainingBar.Run(title, trainer);
        return (start, result.FinalEvalLoss ?? trainer.Evaluate(), trainer.History.Select(h => ((double)h.Step, h.Loss)).ToList());
    }
}
