using System.Text.Json;
using Peft.Net.Lora;

namespace Peft.Net.Cli.Tests;

public sealed class GenerateCommandTests
{
    private static string ModelFolder(string variant) => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant);

    /// <summary>A list from the "meta" of fixtures/llama/&lt;variant&gt;.json (made by tests/fixtures/make_llama.py).</summary>
    private static int[] Expected(string variant, string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant + ".json")));
        return document.RootElement.GetProperty("meta").GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
    }

    [Theory]
    [InlineData("llama")]
    [InlineData("qwen2")]
    [InlineData("llama-bf16")]
    public void GreedyIdsEqualPyTorchs(string variant)
    {
        string prompt = string.Join(",", Expected(variant, "prompt"));
        var result = CliRunner.Run("generate", "--model", ModelFolder(variant), "--ids", prompt, "--greedy", "--print-ids", "--max-new-tokens", "32");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(string.Join(",", Expected(variant, "greedy")) + Environment.NewLine, result.Out);
        Assert.Contains("32 new tokens", result.Error);
    }

    [Fact]
    public void SamplingIsReproducibleWithASeed()
    {
        string[] args = ["generate", "--model", ModelFolder("qwen2"), "--ids", "1,17,42", "--temperature", "1.2", "--top-k", "40", "--top-p", "0.95",
            "--seed", "5", "--print-ids", "--max-new-tokens", "12"];
        var first = CliRunner.Run(args);
        Assert.True(first.ExitCode == 0, first.Error);
        var ids = first.Out.Trim().Split(',').Select(int.Parse).ToArray();
        Assert.InRange(ids.Length, 1, 12);
        Assert.All(ids, id => Assert.InRange(id, 0, 255));
        Assert.Equal(first.Out, CliRunner.Run(args).Out);
    }

    [Theory]
    [InlineData("--ids", "1,x,3", "'x' is not a token id")]
    [InlineData("--ids", "1,256", "id 256 is outside the vocabulary [0, 256)")]
    [InlineData("--top-p", "0", "TopP must be in (0, 1]")]
    [InlineData("--greedy-and-sampling", "", "--greedy cannot be combined")]
    [InlineData("--no-prompt", "", "either as --prompt TEXT or as --ids")]
    public void BadArgumentsGiveOneLineErrors(string flag, string value, string message)
    {
        var args = new List<string> { "generate", "--model", ModelFolder("llama") };
        switch (flag)
        {
            case "--greedy-and-sampling": args.AddRange(["--ids", "1", "--greedy", "--temperature", "0.7"]); break;
            case "--no-prompt": break;
            case "--ids": args.AddRange([flag, value]); break;
            default: args.AddRange(["--ids", "1", flag, value]); break;
        }
        var result = CliRunner.Run(args.ToArray());
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains(message, result.Error);
        Assert.Equal("", result.Out);
    }

    [Fact]
    public void AMissingOrBrokenModelIsAOneLineError()
    {
        using var folder = new TempFolder();
        var missing = CliRunner.Run("generate", "--model", folder.Path, "--ids", "1");
        Assert.Equal(1, missing.ExitCode);
        Assert.Single(missing.ErrorLines);
        Assert.Contains("config.json", missing.Error);

        File.WriteAllText(folder.File("config.json"), """{"model_type": "llama", "hidden_size": 64}""");
        var broken = CliRunner.Run("generate", "--model", folder.Path, "--ids", "1");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("missing required field 'intermediate_size'", broken.Error);
    }
}

public sealed class GenerateCommandPromptTests
{
    private static string TokenizerFixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", name);

    /// <summary>A random tiny model whose vocabulary fits the llama2 tokenizer fixture, saved with that tokenizer.</summary>
    private static (TempFolder Folder, Models.LlamaForCausalLM Model, Models.Tokenization.BpeTokenizer Tokenizer) ModelWithTokenizer()
    {
        var folder = new TempFolder();
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(TokenizerFixture("llama2"), file), folder.File(file));
        var tokenizer = Models.Tokenization.Tokenizer.FromDirectory(folder.Path);
        var config = new Models.LlamaConfig
        {
            HiddenSize = 32, IntermediateSize = 64, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
            VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 128, EosTokenIds = [2], BosTokenId = 1,
        };
        var model = new Models.LlamaForCausalLM(config, new Core.TensorRandom(9));
        model.SavePretrained(folder.Path);
        return (folder, model, tokenizer);
    }

    [Fact]
    public void APromptIsEncodedWithTheTokenizerAndTheContinuationDecoded()
    {
        var (folder, model, tokenizer) = ModelWithTokenizer();
        using (folder)
        {
            var prompt = tokenizer.Encode("Hello world", addSpecialTokens: true);
            Assert.Equal(1, prompt[0]); // BOS
            var expected = model.Generate(prompt, new Models.GenerationOptions { MaxNewTokens = 10 });

            var ids = CliRunner.Run("generate", "--model", folder.Path, "--prompt", "Hello world", "--max-new-tokens", "10", "--print-ids");
            Assert.True(ids.ExitCode == 0, ids.Error);
            Assert.Equal(string.Join(",", expected) + Environment.NewLine, ids.Out);

            var text = CliRunner.Run("generate", "--model", folder.Path, "--prompt", "Hello world", "--max-new-tokens", "10");
            Assert.True(text.ExitCode == 0, text.Error);
            Assert.Equal(tokenizer.Decode(expected, skipSpecialTokens: true) + Environment.NewLine, text.Out);
        }
    }

    [Fact]
    public void APromptWithoutATokenizerIsAOneLineError()
    {
        var result = CliRunner.Run("generate", "--model", Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "llama"), "--prompt", "Hi");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("tokenizer.json", result.Error);
    }
}

public sealed class GenerateCommandAdapterTests
{
    [Fact]
    public void AnAdapterChangesTheContinuationExactlyAsInTheLibrary()
    {
        using var folder = new TempFolder();
        string modelDir = Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "qwen2");
        int[] prompt = [1, 17, 42, 99, 3];
        var options = new Models.GenerationOptions { MaxNewTokens = 16 };
        var plain = Models.LlamaForCausalLM.FromPretrained(modelDir).Generate(prompt, options);

        // A LoRA adapter on q_proj and v_proj with non-zero B, so that it changes the output.
        var trained = Models.LlamaForCausalLM.FromPretrained(modelDir);
        trained.ApplyLora(rank: 4, alpha: 8, targetModules: ["q_proj", "v_proj"], seed: 1);
        var random = new Core.TensorRandom(2);
        foreach (var (name, parameter) in trained.NamedParameters().Where(p => p.Name.Contains("lora_B")))
        {
            var values = parameter.AsSpan();
            for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextGaussian() * 0.5f;
        }
        var adapted = trained.Generate(prompt, options);
        Assert.NotEqual(plain, adapted);
        trained.SaveAdapter(folder.Path);

        var result = CliRunner.Run("generate", "--model", modelDir, "--adapter", folder.Path, "--ids", "1,17,42,99,3", "--max-new-tokens", "16", "--print-ids");
        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(string.Join(",", adapted) + Environment.NewLine, result.Out);
    }

    [Fact]
    public void AMissingAdapterIsAOneLineError()
    {
        var result = CliRunner.Run("generate", "--model", Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", "qwen2"),
            "--adapter", Path.Combine(Path.GetTempPath(), "no-adapter-" + Guid.NewGuid().ToString("N")), "--ids", "1");
        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.ErrorLines);
        Assert.Contains("adapter folder does not exist", result.Error);
    }
}
