using FineTuneLlama;
using Peft.Net.Core;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;

namespace Peft.Net.Samples.Tests;

public class FineTuneLlamaTests
{
    [Fact]
    public void Missing_model_folder_and_data_file_exit_1_with_guidance()
    {
        using var dir = new TempDirectory();
        string model = Path.Combine(dir.Path, "SmolLM-135M"), data = Path.Combine(dir.Path, "train.jsonl");
        var error = new StringWriter();

        int exitCode = FineTuneApp.Run(["--model", model, "--data", data], error);

        Assert.Equal(1, exitCode);
        string message = error.ToString();
        Assert.Contains($"The model folder '{model}' does not exist", message);
        Assert.Contains("huggingface-cli download", message);
        Assert.Contains($"The data file '{data}' does not exist", message);
        Assert.Contains("\"prompt\"", message);
    }

    [Fact]
    public void Incomplete_checkpoint_folder_names_the_missing_files()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), "{}");
        string data = Path.Combine(dir.Path, "train.jsonl");
        File.WriteAllText(data, "{\"prompt\": \"a\", \"completion\": \"b\"}\n");
        var error = new StringWriter();

        int exitCode = FineTuneApp.Run(["--model", dir.Path, "--data", data], error);

        Assert.Equal(1, exitCode);
        string message = error.ToString();
        Assert.Contains("has no tokenizer.json", message);
        Assert.Contains("has no *.safetensors weights", message);
        Assert.DoesNotContain("config.json", message.Split('\n').First(l => l.Contains("has no")));
        Assert.DoesNotContain("data file", message);
    }

    [Fact]
    public void No_arguments_say_what_is_needed()
    {
        var error = new StringWriter();
        Assert.Equal(1, FineTuneApp.Run([], error));
        Assert.Contains("No model folder given (--model <dir>)", error.ToString());
        Assert.Contains("No data file given (--data <file.jsonl>)", error.ToString());
    }

    [Fact]
    public void Trains_a_tiny_checkpoint_folder_and_saves_the_adapter()
    {
        using var dir = new TempDirectory();
        string model = Path.Combine(dir.Path, "tiny-llama");
        Directory.CreateDirectory(model);
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", "llama2", file), Path.Combine(model, file));
        var tokenizer = BpeTokenizer.FromDirectory(model);
        new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 64, BosTokenId = tokenizer.BosTokenId, TieWordEmbeddings = true,
        }, new TensorRandom(3)).SavePretrained(model);
        string data = Path.Combine(dir.Path, "train.jsonl");
        File.WriteAllLines(data, Enumerable.Range(0, 8).Select(i => $"{{\"prompt\": \"Add one to {i}: \", \"completion\": \"{i + 1}\"}}"));
        string output = Path.Combine(dir.Path, "out");
        var error = new StringWriter();

        int exitCode = FineTuneApp.Run(["--model", model, "--data", data, "--out", output, "--steps", "2", "--batch", "4", "--max-length", "32"], error);

        Assert.True(exitCode == 0, error.ToString());
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_config.json")));
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_model.safetensors")));
    }
}

public class FineTuneLlamaChatModeTests
{
    [Fact]
    public void Chat_mode_generates_messages_trains_on_assistant_turns_and_chats()
    {
        using var dir = new TempDirectory();
        string model = Path.Combine(dir.Path, "tiny-chat");
        Directory.CreateDirectory(model);
        string fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", "llama2");
        File.Copy(Path.Combine(fixtures, "tokenizer.json"), Path.Combine(model, "tokenizer.json"));
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(fixtures, "tokenizer_config.json")))!.AsObject();
        config["chat_template"] = "{{ bos_token }}{% for m in messages %}{{ m['role'] + ': ' + m['content'] | trim + eos_token + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
        File.WriteAllText(Path.Combine(model, "tokenizer_config.json"), config.ToJsonString());
        var tokenizer = BpeTokenizer.FromDirectory(model);
        new LlamaForCausalLM(new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 256, BosTokenId = tokenizer.BosTokenId, TieWordEmbeddings = true,
        }, new TensorRandom(3)).SavePretrained(model);
        string output = Path.Combine(dir.Path, "out");
        var error = new StringWriter();

        int exitCode = FineTuneApp.Run(["--mode", "chat", "--model", model, "--out", output, "--steps", "2", "--batch", "4", "--max-length", "96"], error);

        Assert.True(exitCode == 0, error.ToString());
        Assert.Equal(400, File.ReadAllLines(Path.Combine(output, "chat.jsonl")).Length);
        Assert.Contains("\"messages\"", File.ReadLines(Path.Combine(output, "chat.jsonl")).First());
        Assert.True(File.Exists(Path.Combine(output, "adapter", "adapter_model.safetensors")));
    }

    [Fact]
    public void Chat_mode_refuses_a_model_without_a_chat_template()
    {
        using var dir = new TempDirectory();
        string fixtures = Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", "llama2");
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(fixtures, file), Path.Combine(dir.Path, file));
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), "{}");
        File.WriteAllText(Path.Combine(dir.Path, "model.safetensors"), "");
        var error = new StringWriter();
        Assert.Equal(1, FineTuneApp.Run(["--mode", "chat", "--model", dir.Path], error));
        Assert.Contains("has no chat template", error.ToString());
        Assert.DoesNotContain("No data file given", error.ToString());
    }
}
