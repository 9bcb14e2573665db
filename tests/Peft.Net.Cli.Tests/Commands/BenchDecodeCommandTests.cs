using System.Text.Json;

namespace Peft.Net.Cli.Tests.Commands;

[Collection(ProcessThreadCount.Name)] // they set the process-wide thread count
public sealed class BenchDecodeCommandTests
{
    private static string FixtureModel => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama");

    [Fact]
    public void Random_model_json_reports_the_decode_rate_the_prefill_and_the_settings()
    {
        var result = CliRunner.Run("bench", "decode", "--dim", "32", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64",
            "--vocab", "300", "--prompt-tokens", "13", "--new-tokens", "9", "--threads", "1", "--repeats", "1", "--json");

        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal("decode", root.GetProperty("benchmark").GetString());
        Assert.Equal(13, root.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(9, root.GetProperty("new_tokens").GetInt32());
        Assert.Equal(1, root.GetProperty("threads").GetInt32());
        Assert.Equal("random", root.GetProperty("model").GetString());
        double rate = root.GetProperty("tokens_per_s").GetDouble();
        double prefill = root.GetProperty("prefill_ms").GetDouble(), total = root.GetProperty("total_ms").GetDouble();
        Assert.True(prefill > 0 && total > prefill, result.Out);
        // One run: the rate is the 8 tokens after the first over the time after the prefill.
        Assert.Equal(8 / ((total - prefill) / 1e3), rate, 0.02 * rate);
        Assert.Equal(rate, root.GetProperty("best_tokens_per_s").GetDouble());
        // Weights a step reads: per layer q, o 32×32, k, v 32×16, gate, up, down 32×64 and two norms of 32; the
        // final norm; lm_head 300×32 (untied: of the embedding table a step reads one row, not counted).
        const long floats = 2 * (2 * 32 * 32 + 2 * 32 * 16 + 3 * 32 * 64 + 2 * 32) + 32 + 300 * 32;
        Assert.Equal(4 * floats, root.GetProperty("weight_bytes_per_token").GetInt64());
        Assert.Equal(4 * floats * rate / 1e9, root.GetProperty("weight_gb_per_s").GetDouble(), 1e-6 * rate);
        Assert.True(root.GetProperty("read_gb_per_s").GetDouble() > 0, result.Out);
    }

    [Fact]
    public void A_model_folder_is_decoded_and_named_in_the_text_line()
    {
        var result = CliRunner.Run("bench", "decode", "--model", FixtureModel, "--prompt-tokens", "20", "--new-tokens", "6", "--repeats", "2", "--threads", "2");

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.StartsWith($"decode {FixtureModel}: ", result.Out);
        Assert.Contains("prefill of 20 ids (6 new tokens", result.Out);
        Assert.Contains("medians of 2), 2 threads, GEMM kernel ", result.Out);
        Assert.Contains("this machine reads memory at ", result.Out);
    }

    [Theory]
    [InlineData("--new-tokens", "1", "--new-tokens ≥ 2")]
    [InlineData("--prompt-tokens", "0", "--prompt-tokens ≥ 1")]
    [InlineData("--ffn", "0", "model shape:")]
    public void Bad_settings_give_one_line_errors(string flag, string value, string message)
    {
        var result = CliRunner.Run("bench", "decode", "--dim", "32", "--layers", "1", "--heads", "4", "--kv-heads", "4", "--vocab", "64", flag, value);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public void A_prompt_longer_than_the_models_positions_is_refused_with_the_limit()
    {
        var result = CliRunner.Run("bench", "decode", "--model", FixtureModel, "--prompt-tokens", "100", "--new-tokens", "29");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("exceed the model's max_position_embeddings (128)", result.Error);
    }
}
