using System.Text.RegularExpressions;
using MethodsShowdown;

namespace Peft.Net.Samples.Tests;

public class MethodsShowdownTests
{
    [Fact]
    public void Quick_mode_trains_every_method_and_plots_all_curves()
    {
        using var dir = new TempDirectory();
        var options = ShowdownOptions.Parse(["--quick", "--out", dir.Path]);

        var results = ShowdownApp.Execute(options);

        Assert.Equal(["LoRA", "DoRA", "DoRA+NEFTune", "LoRA+ (×16)", "QLoRA"], results.Select(r => r.Method));
        foreach (var r in results)
        {
            Assert.True(double.IsFinite(r.EvalLoss) && r.EvalLoss > 0, $"{r.Method}: eval loss {r.EvalLoss}");
            Assert.True(r.EvalLoss < r.StartEvalLoss, $"{r.Method}: eval loss did not fall ({r.StartEvalLoss} → {r.EvalLoss})");
            Assert.Equal(options.FineTuneSteps, r.LossCurve.Count);
            Assert.True(r.TokensPerSecond > 0 && r.PeakManagedBytes > 0, r.Method);
        }
        var byName = results.ToDictionary(r => r.Method);
        // Same adapters → same trainable count; DoRA adds one magnitude vector per layer; NF4 stores the base in ~4 bits.
        Assert.Equal(byName["LoRA"].TrainableParameters, byName["LoRA+ (×16)"].TrainableParameters);
        Assert.Equal(byName["LoRA"].TrainableParameters, byName["QLoRA"].TrainableParameters);
        Assert.True(byName["DoRA"].TrainableParameters > byName["LoRA"].TrainableParameters);
        Assert.True(byName["QLoRA"].StoredWeightBytes < byName["LoRA"].StoredWeightBytes / 2);
        // Same seed, same data order: the first step sees the same batch and LoRA's B = 0 start gives the base loss.
        Assert.Equal(byName["LoRA"].LossCurve[0].Loss, byName["LoRA+ (×16)"].LossCurve[0].Loss, 6);

        string svg = File.ReadAllText(Path.Combine(dir.Path, "loss_curves.svg"));
        Assert.Equal(5, Regex.Matches(svg, "<polyline").Count);
        Assert.Contains("DoRA+NEFTune", svg);
    }

    [Fact]
    public void Unknown_argument_is_rejected_with_exit_code_1() =>
        Assert.Equal(1, ShowdownApp.Run(["--fast"]));
}
