using System.Text.Json;

namespace Peft.Net.Cli.Tests;

public sealed class BenchTrainCommandTests
{
    // r·(in + out) per linear layer, with r = 2: q 32→32, k 32→16, v 32→16, o 32→32, gate/up 32→64, down 64→32;
    // DoRA adds one magnitude per output feature.
    private const long LoraParameters = 2 * (64 + 48 + 48 + 64 + 96 + 96 + 96);
    private const long DoraMagnitudes = 32 + 16 + 16 + 32 + 64 + 64 + 32;

    [Theory]
    [InlineData("lora", LoraParameters)]
    [InlineData("dora", LoraParameters + DoraMagnitudes)]
    [InlineData("qlora", LoraParameters)]
    public void Bench_train_prints_one_json_object(string method, long trainable)
    {
        var result = CliRunner.Run("bench", "train", "--dim", "32", "--layers", "1", "--heads", "4", "--kv-heads", "2", "--ffn", "64",
            "--vocab", "64", "--seq", "16", "--batch", "2", "--rank", "2", "--steps", "1", "--method", method, "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.True(root.GetProperty("tokens_per_s").GetDouble() > 0);
        Assert.True(root.GetProperty("step_ms").GetDouble() > 0);
        Assert.True(root.GetProperty("peak_mb").GetDouble() > 0);
        Assert.Equal(trainable, root.GetProperty("trainable_params").GetInt64());
    }

    [Fact]
    public void Bench_train_runs_with_gradient_checkpointing()
    {
        var result = CliRunner.Run("bench", "train", "--dim", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64",
            "--vocab", "64", "--seq", "16", "--batch", "2", "--rank", "2", "--steps", "1", "--gradient-checkpointing", "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        Assert.True(json.RootElement.GetProperty("gradient_checkpointing").GetBoolean());
        Assert.True(json.RootElement.GetProperty("tokens_per_s").GetDouble() > 0);
    }

    [Fact]
    public void Bench_train_reports_the_optimizer_state_of_8bit_and_float32_AdamW_and_runs_the_unfused_loss()
    {
        long Run(string optim, bool unfused)
        {
            string[] args = ["bench", "train", "--dim", "32", "--layers", "1", "--heads", "4", "--kv-heads", "2", "--ffn", "64",
                "--vocab", "4096", "--seq", "16", "--batch", "2", "--rank", "2", "--steps", "1", "--optim", optim,
                "--modules-to-save", "embed_tokens,lm_head", "--json"];
            var result = CliRunner.Run(unfused ? [.. args, "--unfused-loss"] : args);
            Assert.True(result.ExitCode == 0, result.Error);
            using var json = JsonDocument.Parse(result.Out);
            Assert.Equal(optim, json.RootElement.GetProperty("optim").GetString());
            Assert.Equal(!unfused, json.RootElement.GetProperty("fused_loss").GetBoolean());
            return json.RootElement.GetProperty("optimizer_state_bytes").GetInt64();
        }

        long fp32 = Run("adamw", unfused: true);
        long eight = Run("adamw8bit", unfused: false);
        Assert.True(eight <= 0.30 * fp32, $"8-bit state {eight} bytes, float32 {fp32}");
    }
}
