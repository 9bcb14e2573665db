using QLoraFineTune;

namespace Peft.Net.Samples.Tests;

public class QLoraFineTuneTests
{
    [Fact]
    public void Quick_mode_quantizes_the_base_trains_both_and_saves_the_adapter()
    {
        using var dir = new TempDirectory();
        var options = QLoraOptions.Parse(["--quick", "--out", dir.Path]);

        var report = QLoraApp.Execute(options);

        // NF4 with double quantization: 4-bit codes plus small scales, so well over 4× smaller than float32.
        Assert.True(report.LinearBytesAfter * 4 < report.LinearBytesBefore, $"{report.LinearBytesBefore} → {report.LinearBytesAfter} bytes");
        Assert.True(report.BaseBytesAfter < report.BaseBytesBefore);
        Assert.Equal(options.FineTuneSteps, report.LoraCurve.Count);
        Assert.Equal(options.FineTuneSteps, report.QLoraCurve.Count);
        Assert.True(double.IsFinite(report.LoraEvalLoss) && double.IsFinite(report.QLoraEvalLoss));
        // Fine-tuning learned something: the held-out loss fell for both.
        Assert.True(report.LoraEvalLoss < report.LoraStartEvalLoss, $"LoRA eval loss {report.LoraStartEvalLoss} → {report.LoraEvalLoss}");
        Assert.True(report.QLoraEvalLoss < report.QLoraStartEvalLoss, $"QLoRA eval loss {report.QLoraStartEvalLoss} → {report.QLoraEvalLoss}");
        // The NF4 base is close to the float32 one: the first-step losses (adapters start at zero) nearly agree.
        Assert.Equal(report.LoraCurve[0].Loss, report.QLoraCurve[0].Loss, 1);
        Assert.True(File.Exists(Path.Combine(dir.Path, "qlora-adapter", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(dir.Path, "loss_curves.svg")));
    }
}
