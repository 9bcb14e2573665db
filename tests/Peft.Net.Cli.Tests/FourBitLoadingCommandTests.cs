using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Tests;

/// <summary>
/// peft generate --load-in-4bit and peft train --method qlora load the base straight to 4-bit; limits of the model's
/// config.json are named with the flag that crosses them.
/// </summary>
public sealed class FourBitLoadingCommandTests
{
    private static string QwenFixture => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "qwen2");

    [Theory]
    [InlineData("nf4", 64, false)]
    [InlineData("fp4", 128, true)]
    public void Generate_in_4bit_gives_the_ids_of_the_library_model_loaded_with_the_same_settings(string type, int blockSize, bool noDoubleQuant)
    {
        int[] prompt = [1, 17, 42, 99, 3];
        var settings = new FourBitQuantization
        {
            QuantType = type == "fp4" ? QuantType.Fp4 : QuantType.Nf4, BlockSize = blockSize, DoubleQuant = !noDoubleQuant,
        };
        var expected = LlamaForCausalLM.FromPretrained(QwenFixture, quantization: settings).Generate(prompt, new GenerationOptions { MaxNewTokens = 12 });
        var args = new List<string> { "generate", "--model", QwenFixture, "--ids", "1,17,42,99,3", "--max-new-tokens", "12", "--print-ids",
            "--load-in-4bit", "--quant-type", type, "--blocksize", blockSize.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (noDoubleQuant) args.Add("--no-double-quant");
        var result = CliRunner.Run(args.ToArray());
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(string.Join(",", expected) + Environment.NewLine, result.Out);
    }

    [Fact]
    public void A_blocksize_bitsandbytes_lacks_is_a_one_line_error()
    {
        var result = CliRunner.Run("generate", "--model", QwenFixture, "--ids", "1", "--load-in-4bit", "--blocksize", "100");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("--blocksize must be one of 32, 64", result.Error);
    }

    [Fact]
    public void Generate_past_max_position_embeddings_names_the_flag_and_the_room_left()
    {
        int limit = LlamaConfig.Load(QwenFixture).MaxPositionEmbeddings;
        var result = CliRunner.Run("generate", "--model", QwenFixture, "--ids", "1,2,3", "--max-new-tokens", (limit + 10).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains($"--max-new-tokens {limit + 10}: the prompt (3 ids) leaves room for {limit - 3} new tokens", result.Error);
        Assert.Contains($"max_position_embeddings ({limit})", result.Error);
    }

    private static (string Model, string Data) TinyModelAndData(TempFolder folder, int maxPositions)
    {
        var config = new LlamaConfig
        {
            HiddenSize = 64, IntermediateSize = 96, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 259, MaxPositionEmbeddings = maxPositions, EosTokenIds = [257],
        };
        string dir = folder.Folder("model");
        new LlamaForCausalLM(config, new TensorRandom(1)).SavePretrained(dir, DType.BF16);
        string data = folder.File("data.jsonl");
        JsonlDataset.Save(data, new DemoDataGenerator(3).Generate(16));
        return (dir, data);
    }

    [Fact]
    public void Train_with_seq_beyond_max_position_embeddings_is_a_one_line_error_naming_flag_and_limit()
    {
        using var folder = new TempFolder();
        var (model, data) = TinyModelAndData(folder, maxPositions: 256);
        var result = CliRunner.Run("train", "--model", model, "--data", data, "-o", folder.File("out"), "--seq", "512", "--steps", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("--seq 512 is longer than the model's max_position_embeddings (256", result.Error);
        Assert.Contains("use --seq 256 or less", result.Error);
        Assert.DoesNotContain("internal error", result.Error);
        Assert.False(Directory.Exists(folder.File("out")), "nothing is written for a refused run");
    }

    [Theory]
    [InlineData("--loraplus-ratio", "-2", "--loraplus-ratio must be ≥ 0")]
    [InlineData("--neftune-alpha", "-5", "--neftune-alpha must be ≥ 0")]
    [InlineData("--alpha", "NaN", "--alpha must be a finite number")]
    public void Train_refuses_negative_or_undefined_method_settings(string flag, string value, string message)
    {
        using var folder = new TempFolder();
        var (model, data) = TinyModelAndData(folder, maxPositions: 128);
        var result = CliRunner.Run("train", "--model", model, "--data", data, "-o", folder.File("out"), "--steps", "1", flag, value);
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(message, result.Error);
    }

    [Fact]
    public void QLoRA_training_with_fp4_settings_trains_over_a_4bit_base_and_saves_a_CAUSAL_LM_adapter()
    {
        using var folder = new TempFolder();
        var (model, data) = TinyModelAndData(folder, maxPositions: 128);
        string output = folder.File("adapter");
        var result = CliRunner.Run("train", "--model", model, "--data", data, "-o", output, "--method", "qlora", "--quant-type", "fp4",
            "--blocksize", "32", "--steps", "2", "--batch", "2", "--seq", "64", "--eval-fraction", "0");
        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        Assert.Contains("qlora (fp4 base, blocksize 32, double quantization) r=8", result.Out);
        var config = LoraConfig.Load(Path.Combine(output, "adapter_config.json"));
        Assert.Equal("CAUSAL_LM", config.TaskType);
        // The adapter loads onto the 4-bit base loaded with the same settings.
        var qlora = LlamaForCausalLM.FromPretrained(model, quantization: new FourBitQuantization { QuantType = QuantType.Fp4, BlockSize = 32 });
        qlora.LoadAdapter(output);
        Assert.IsType<Nf4Linear>(((LoraLinear)qlora.NamedModules().First(m => m.Name == "model.layers.0.mlp.up_proj").Module).BaseLayer);
    }
}
