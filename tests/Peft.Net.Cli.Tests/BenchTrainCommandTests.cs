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
}
