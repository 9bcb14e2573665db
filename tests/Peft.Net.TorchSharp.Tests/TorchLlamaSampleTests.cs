using TorchSharpFineTune;

namespace Peft.Net.TorchSharp.Tests;

/// <summary>samples/TorchSharpFineTune in its --quick mode, in-process (what CI runs).</summary>
public class TorchLlamaSampleTests
{
    [Fact]
    public void Quick_mode_trains_LoRA_on_TorchSharp_and_the_engine_generates_the_same_ids_with_its_adapter()
    {
        using var dir = new TorchLlamaTempDirectory();
        var options = TorchFineTuneOptions.Parse(["--quick", "--out", dir.Path, "--threads", "2"]);

        var report = TorchFineTuneApp.Execute(options);

        Assert.True(report.EvalLossFell, $"eval loss {report.EvalLossBefore:F4} → {report.EvalLossAfter:F4}");
        Assert.True(report.TrainableParameters > 0 && report.TrainableParameters < report.TotalParameters / 2);
        Assert.Equal(3, report.TorchIds.Count);
        Assert.All(report.TorchIds, ids => Assert.NotEmpty(ids));
        for (int i = 0; i < report.TorchIds.Count; i++)
            Assert.Equal(report.EngineIds[i], report.TorchIds[i]);
        Assert.True(report.IdsMatch);
        Assert.True(File.Exists(Path.Combine(report.AdapterDirectory, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(report.AdapterDirectory, "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(report.BaseDirectory, "model.safetensors")));
    }

    [Fact]
    public void Unknown_arguments_are_refused_with_the_usage()
    {
        var error = Assert.Throws<ArgumentException>(() => TorchFineTuneOptions.Parse(["--fast"]));
        Assert.Contains("--fast", error.Message);
        Assert.Contains("Usage", error.Message);
    }
}
