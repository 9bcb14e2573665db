using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Models;

namespace Peft.Net.Cli.Tests;

/// <summary>peft template, peft train --format chat and peft generate --chat on a tiny model with a real chat template.</summary>
public sealed class ChatCommandTests
{
    private static string TemplateFolder(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "chat_templates", name);

    /// <summary>A tiny random Llama (byte vocabulary) with SmolLM2's ChatML template beside it.</summary>
    private static string TinyChatModel(TempFolder folder, string template = "smollm2")
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 1, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = 259, MaxPositionEmbeddings = 512, EosTokenIds = [257],
        };
        string dir = folder.Folder("model");
        new LlamaForCausalLM(config, new TensorRandom(1)).SavePretrained(dir);
        File.Copy(Path.Combine(TemplateFolder(template), "tokenizer_config.json"), Path.Combine(dir, "tokenizer_config.json"));
        return dir;
    }

    private static string ChatData(TempFolder folder, int rows = 12)
    {
        string path = folder.File("chat.jsonl");
        var lines = Enumerable.Range(0, rows).Select(i => JsonSerializer.Serialize(new
        {
            messages = new object[]
            {
                new { role = "user", content = $"What is {i} plus {i}?" },
                new { role = "assistant", content = $"{i} plus {i} is {2 * i}." },
            },
        }));
        File.WriteAllLines(path, lines);
        return path;
    }

    [Theory]
    [InlineData("qwen3", "thinking", true)]
    [InlineData("llama3", "basic", false)]
    [InlineData("phi3", "whitespace", true)]
    [InlineData("mistral", "system", false)]
    public void TemplatePrintsWhatJinja2Renders(string template, string conversation, bool generationPrompt)
    {
        using var folder = new TempFolder();
        using var spec = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TemplateFolder(""), "conversations.json")));
        using var golden = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(TemplateFolder(""), "expected.json")));
        string messages = folder.File("messages.json");
        File.WriteAllText(messages, spec.RootElement.GetProperty("conversations").GetProperty(conversation).GetRawText());
        var expected = golden.RootElement.EnumerateArray().First(c => c.GetProperty("template").GetString() == template
            && c.GetProperty("conversation").GetString() == conversation && !c.TryGetProperty("variables", out _) && !c.TryGetProperty("tools", out _)
            && c.GetProperty("add_generation_prompt").GetBoolean() == generationPrompt);
        string[] args = ["template", "--model", TemplateFolder(template), "--messages", messages];
        var result = CliRunner.Run(generationPrompt ? [.. args, "--add-generation-prompt"] : args);
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(expected.GetProperty("expected").GetString(), result.Out);
    }

    [Fact]
    public void TemplatePassesVariablesAndReportsTemplateErrors()
    {
        using var folder = new TempFolder();
        string messages = folder.File("m.json");
        File.WriteAllText(messages, """[{"role": "user", "content": "hi"}]""");
        var result = CliRunner.Run("template", "--model", TemplateFolder("qwen3"), "--messages", messages, "--add-generation-prompt", "--var", "enable_thinking=false");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", result.Out);

        File.WriteAllText(messages, """[{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]""");
        var error = CliRunner.Run("template", "--model", TemplateFolder("gemma"), "--messages", messages);
        Assert.Equal(1, error.ExitCode);
        Assert.Contains("System role not supported", error.Error);
        Assert.DoesNotContain("   at ", error.Error);
    }

    [Fact]
    public void TrainOnChatRowsWritesAnAdapter_AndTrainOnAllChangesTheLoss()
    {
        using var folder = new TempFolder();
        string model = TinyChatModel(folder), data = ChatData(folder);
        string[] common = ["train", "--model", model, "--data", data, "--steps", "2", "--batch", "2", "--seq", "256", "--rank", "2",
            "--eval-fraction", "0", "--json"];
        var assistantOnly = CliRunner.Run([.. common, "-o", folder.File("a"), "--format", "chat"]);
        var auto = CliRunner.Run([.. common, "-o", folder.File("b")]);
        var all = CliRunner.Run([.. common, "-o", folder.File("c"), "--train-on-all"]);
        Assert.True(assistantOnly.ExitCode == 0, assistantOnly.Error);
        Assert.True(all.ExitCode == 0, all.Error);
        Assert.True(File.Exists(Path.Combine(folder.File("a"), "adapter_model.safetensors")));
        double Loss(CliResult r) => JsonDocument.Parse(r.Out).RootElement.GetProperty("loss").GetDouble();
        Assert.Equal(Loss(assistantOnly), Loss(auto));
        Assert.NotEqual(Loss(assistantOnly), Loss(all));
    }

    [Fact]
    public void ChatFormatNeedsATemplate()
    {
        using var folder = new TempFolder();
        string model = TinyChatModel(folder);
        File.Delete(Path.Combine(model, "tokenizer_config.json"));
        var result = CliRunner.Run("train", "--model", model, "--data", ChatData(folder), "-o", folder.File("a"), "--format", "chat", "--steps", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("has no chat template", result.Error);
        var auto = CliRunner.Run("train", "--model", model, "--data", ChatData(folder), "-o", folder.File("b"), "--steps", "1");
        Assert.Equal(1, auto.ExitCode);
        Assert.Contains("need the model's chat template", auto.Error);
    }

    [Fact]
    public void GenerateChatRendersTheTemplateAndStopsAtEndOfTurnIds()
    {
        using var folder = new TempFolder();
        string model = TinyChatModel(folder);
        // Every id ends a turn here, so exactly one token comes out: the stop list is read from generation_config.json.
        File.WriteAllText(Path.Combine(model, "generation_config.json"), JsonSerializer.Serialize(new { eos_token_id = Enumerable.Range(0, 259).ToArray() }));
        var result = CliRunner.Run("generate", "--model", model, "--chat", "Hi", "--system", "Be brief.", "--max-new-tokens", "20", "--print-ids");
        Assert.True(result.ExitCode == 0, result.Error);
        int promptBytes = System.Text.Encoding.UTF8.GetByteCount("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        Assert.Contains($"1 new tokens after {promptBytes} prompt ids", result.Error);

        File.Delete(Path.Combine(model, "generation_config.json"));
        var longer = CliRunner.Run("generate", "--model", model, "--chat", "Hi", "--max-new-tokens", "5", "--print-ids");
        Assert.True(longer.ExitCode == 0, longer.Error);
        Assert.Contains("stops at 257", longer.Error);
    }
}
