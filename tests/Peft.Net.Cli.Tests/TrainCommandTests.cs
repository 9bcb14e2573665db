using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Models;
using Peft.Net.Models.Data;

namespace Peft.Net.Cli.Tests;

public sealed class TrainCommandTests
{
    /// <summary>A randomly initialised Llama small enough to train in a second, with the byte tokenizer's vocabulary.</summary>
    private static string TinyModel(TempFolder folder, bool attentionBias = false)
    {
        var config = new LlamaConfig
        {
            QkvBias = attentionBias,
            OutputProjectionBias = attentionBias,
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 1,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 259,
            MaxPositionEmbeddings = 128,
            EosTokenIds = [257],
        };
        string dir = folder.Folder("model");
        new LlamaForCausalLM(config, new TensorRandom(1)).SavePretrained(dir);
        return dir;
    }

    private static string Dataset(TempFolder folder)
    {
        string path = folder.File("data.jsonl");
        JsonlDataset.Save(path, new DemoDataGenerator(3).Generate(24));
        return path;
    }

    [Fact]
    public void Train_writes_the_adapter_the_log_and_the_plot()
    {
        using var folder = new TempFolder();
        string output = folder.File("adapter");

        var result = CliRunner.Run("train", "--model", TinyModel(folder), "--data", Dataset(folder), "-o", output,
            "--steps", "4", "--batch", "2", "--seq", "48", "--rank", "4", "--lr", "1e-3", "--eval-fraction", "0.2", "--eval-every", "2");

        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        Assert.True(File.Exists(Path.Combine(output, "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(output, "adapter_model.safetensors")));
        var log = File.ReadAllLines(Path.Combine(output, "training_log.csv"));
        Assert.Equal(5, log.Length);
        Assert.StartsWith("<svg", File.ReadAllText(Path.Combine(output, "loss.svg")));
        Assert.Contains("eval loss", result.Out);
        Assert.Contains("tokens/s", result.Out);
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "adapter_config.json")));
        Assert.Equal(4, config.RootElement.GetProperty("r").GetInt32());
    }

    [Fact]
    public void Train_with_gradient_checkpointing_gives_the_same_losses()
    {
        using var folder = new TempFolder();
        string model = TinyModel(folder), data = Dataset(folder);
        string[] common = ["train", "--model", model, "--data", data, "--steps", "3", "--batch", "2", "--seq", "48", "--rank", "2",
            "--dropout", "0.1", "--eval-fraction", "0.2", "--eval-every", "3", "--json"];

        var plain = CliRunner.Run([.. common, "-o", folder.File("plain")]);
        var checkpointed = CliRunner.Run([.. common, "-o", folder.File("checkpointed"), "--gradient-checkpointing"]);

        Assert.True(plain.ExitCode == 0, plain.Error);
        Assert.True(checkpointed.ExitCode == 0, checkpointed.Error);
        using var a = JsonDocument.Parse(plain.Out);
        using var b = JsonDocument.Parse(checkpointed.Out);
        Assert.Equal(a.RootElement.GetProperty("loss").GetDouble(), b.RootElement.GetProperty("loss").GetDouble());
        Assert.Equal(a.RootElement.GetProperty("eval_loss").GetDouble(), b.RootElement.GetProperty("eval_loss").GetDouble());
        Assert.Equal(File.ReadAllBytes(Path.Combine(folder.File("plain"), "adapter_model.safetensors")),
            File.ReadAllBytes(Path.Combine(folder.File("checkpointed"), "adapter_model.safetensors")));
    }

    [Fact]
    public void Train_resumes_from_a_checkpoint_and_reports_json()
    {
        using var folder = new TempFolder();
        string model = TinyModel(folder), data = Dataset(folder), first = folder.File("first"), second = folder.File("second");
        string[] common = ["--model", model, "--data", data, "--steps", "4", "--batch", "2", "--seq", "48", "--rank", "2", "--eval-fraction", "0"];

        var straight = CliRunner.Run(["train", .. common, "-o", first, "--save-every", "2", "--json"]);
        Assert.True(straight.ExitCode == 0, straight.Error);
        var resumed = CliRunner.Run(["train", .. common, "-o", second, "--resume", Path.Combine(first, "checkpoint-2"), "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);

        using var a = JsonDocument.Parse(straight.Out);
        using var b = JsonDocument.Parse(resumed.Out);
        Assert.Equal(4, b.RootElement.GetProperty("steps").GetInt32());
        Assert.Equal(a.RootElement.GetProperty("loss").GetDouble(), b.RootElement.GetProperty("loss").GetDouble());
        Assert.True(File.Exists(Path.Combine(first, "checkpoint-2", "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData("lora")]
    [InlineData("dora")]
    [InlineData("qlora")]
    public void Train_with_dropout_and_neftune_resumes_bit_for_bit(string method)
    {
        using var folder = new TempFolder();
        string model = TinyModel(folder), data = Dataset(folder), first = folder.File("first"), second = folder.File("second");
        string[] common = ["--model", model, "--data", data, "--method", method, "--steps", "6", "--batch", "2", "--seq", "48", "--rank", "2",
            "--dropout", "0.1", "--neftune-alpha", "5", "--lr", "1e-2", "--eval-fraction", "0"];

        var straight = CliRunner.Run(["train", .. common, "-o", first, "--save-every", "3", "--json"]);
        Assert.True(straight.ExitCode == 0, straight.Error);
        var resumed = CliRunner.Run(["train", .. common, "-o", second, "--resume", Path.Combine(first, "checkpoint-3"), "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);

        // The whole loss column (steps 1–6) and the adapter bytes are identical.
        static string[] Losses(string dir) => File.ReadAllLines(Path.Combine(dir, "training_log.csv")).Skip(1).Select(l => l.Split(',')[1]).ToArray();
        Assert.Equal(6, Losses(first).Length);
        Assert.Equal(Losses(first), Losses(second));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(second, "adapter_model.safetensors")));
    }

    [Theory]
    [InlineData("adamw8bit")]
    [InlineData("paged_adamw8bit")]
    [InlineData("paged_adamw")]
    public void Train_with_each_optimizer_resumes_bit_for_bit(string optim)
    {
        using var folder = new TempFolder();
        string model = TinyModel(folder), data = Dataset(folder), first = folder.File("first"), second = folder.File("second");
        string[] common = ["--model", model, "--data", data, "--optim", optim, "--steps", "4", "--batch", "2", "--seq", "48", "--rank", "2",
            "--dropout", "0.1", "--lr", "1e-2", "--eval-fraction", "0"];

        var straight = CliRunner.Run(["train", .. common, "-o", first, "--save-every", "2", "--json"]);
        Assert.True(straight.ExitCode == 0, straight.Error);
        var resumed = CliRunner.Run(["train", .. common, "-o", second, "--resume", Path.Combine(first, "checkpoint-2"), "--json"]);
        Assert.True(resumed.ExitCode == 0, resumed.Error);

        using var a = JsonDocument.Parse(straight.Out);
        Assert.Equal(optim, a.RootElement.GetProperty("optim").GetString());
        Assert.True(a.RootElement.GetProperty("optimizer_state_bytes").GetInt64() > 0);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "adapter_model.safetensors")), File.ReadAllBytes(Path.Combine(second, "adapter_model.safetensors")));
        // A checkpoint of one optimizer does not load into another.
        var mismatch = CliRunner.Run(["train", "--model", model, "--data", data, "--optim", "adamw", "--steps", "4", "--batch", "2", "--seq", "48",
            "--rank", "2", "--eval-fraction", "0", "-o", folder.File("third"), "--resume", Path.Combine(first, "checkpoint-2")]);
        Assert.Equal(1, mismatch.ExitCode);
        Assert.Contains("cannot be loaded into AdamW", mismatch.Error);
    }

    [Fact]
    public void Train_rejects_an_unknown_optimizer()
    {
        using var folder = new TempFolder();
        var result = CliRunner.Run("train", "--model", TinyModel(folder), "--data", Dataset(folder), "-o", folder.File("out"), "--optim", "adam16");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("adam16", result.Error);
    }

    [Fact]
    public void Train_reports_a_missing_data_file_in_one_line()
    {
        using var folder = new TempFolder();
        var result = CliRunner.Run("train", "--model", TinyModel(folder), "--data", folder.File("missing.jsonl"), "-o", folder.File("out"));
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("missing.jsonl", result.Error);
    }

    [Theory]
    [InlineData("all")]
    [InlineData("lora_only")]
    public void Train_with_a_bias_mode_trains_and_saves_the_biases_under_peft_keys(string mode)
    {
        using var folder = new TempFolder();
        string model = TinyModel(folder, attentionBias: true), output = folder.File("adapter");
        var result = CliRunner.Run("train", "--model", model, "--data", Dataset(folder), "-o", output, "--steps", "3", "--batch", "2",
            "--seq", "48", "--rank", "2", "--lr", "1e-2", "--target", "q_proj,v_proj", "--bias", mode, "--eval-fraction", "0.2", "--json");
        Assert.True(result.ExitCode == 0, result.Error + result.Out);

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "adapter_config.json")));
        Assert.Equal(mode, config.RootElement.GetProperty("bias").GetString());
        var saved = Peft.Net.Core.IO.Safetensors.Load(Path.Combine(output, "adapter_model.safetensors"));
        string[] expected = mode == "all"
            ? ["base_model.model.model.layers.0.self_attn.k_proj.bias", "base_model.model.model.layers.0.self_attn.o_proj.bias",
               "base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias", "base_model.model.model.layers.0.self_attn.v_proj.base_layer.bias"]
            : ["base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias", "base_model.model.model.layers.0.self_attn.v_proj.base_layer.bias"];
        Assert.Equal(expected, saved.Keys.Where(k => k.EndsWith(".bias", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

        // The trained q bias differs from the base's, and the JSON summary counts the biases as trainable.
        var baseQ = Peft.Net.Core.IO.Safetensors.Load(Path.Combine(model, "model.safetensors"))["model.layers.0.self_attn.q_proj.bias"].To(DType.F32).ToArray();
        Assert.NotEqual(baseQ, saved["base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias"].To(DType.F32).ToArray());
        using var summary = JsonDocument.Parse(result.Out);
        long loraParams = (2 * 32 + 32 * 2) + (2 * 32 + 16 * 2);   // q: A [2, 32], B [32, 2]; v (2 kv heads × 8): A [2, 32], B [16, 2]
        long biasParams = mode == "all" ? 32 + 16 + 16 + 32 : 32 + 16;   // q [32], k [16], v [16], o [32]
        Assert.Equal(loraParams + biasParams, summary.RootElement.GetProperty("trainable_params").GetInt64());
    }

    [Fact]
    public void Train_rejects_an_unknown_bias_mode()
    {
        using var folder = new TempFolder();
        var result = CliRunner.Run("train", "--model", TinyModel(folder), "--data", Dataset(folder), "-o", folder.File("out"), "--bias", "some");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--bias must be none, all or lora_only (got some)", result.Error);
    }
}
