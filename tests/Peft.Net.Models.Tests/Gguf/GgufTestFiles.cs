using System.Text.Json.Nodes;
using Peft.Net.Models.Tokenization.Text;

namespace Peft.Net.Models.Tests.Gguf;

/// <summary>Files the GGUF tests share: the llama.cpp-written model in ../shared, and small tokenizer folders.</summary>
public static class GgufTestFiles
{
    /// <summary>The repository root (the folder holding Peft.Net.sln), found from the test assembly upwards.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"No Peft.Net.sln above {AppContext.BaseDirectory}; the tests must run inside the repository.");
    }

    /// <summary>
    /// ../shared/data/gguf/llama-2-tiny-random.gguf beside the repository (written by llama.cpp's converter: llama
    /// arch, F16, the full Llama-2 vocabulary). Fails loudly when the shared data are not there.
    /// </summary>
    public static string LlamaCppTinyModel()
    {
        string path = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "data", "gguf", "llama-2-tiny-random.gguf"));
        if (!File.Exists(path))
            throw new FileNotFoundException($"The shared test file {path} is missing: the GGUF tests need ../shared/data/gguf beside the repository.", path);
        return path;
    }

    /// <summary>The model folder fixtures/llama/&lt;variant&gt; beside the test assembly.</summary>
    public static string LlamaFixture(string variant) => Path.Combine(AppContext.BaseDirectory, "fixtures", "llama", variant);

    /// <summary>The tokenizer folder fixtures/tokenizer/&lt;name&gt; beside the test assembly.</summary>
    public static string TokenizerFixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "tokenizer", name);

    /// <summary>
    /// Writes a byte-level BPE tokenizer.json of exactly <paramref name="vocab"/> ids into <paramref name="directory"/>:
    /// the 256 byte symbols (GPT-2 alphabet) and then added tokens &lt;extra_i&gt;, no merges (for the tiny random models).
    /// </summary>
    public static string WriteByteLevelTokenizer(string directory, int vocab)
    {
        Directory.CreateDirectory(directory);
        var vocabJson = new JsonObject();
        for (int i = 0; i < Math.Min(256, vocab); i++) vocabJson[ByteLevelAlphabet.CharOf((byte)i).ToString()] = i;
        var added = new JsonArray();
        for (int i = 256; i < vocab; i++)
            added.Add(new JsonObject { ["id"] = i, ["content"] = $"<extra_{i}>", ["special"] = true, ["normalized"] = false });
        var root = new JsonObject
        {
            ["added_tokens"] = added,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel" },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = vocabJson, ["merges"] = new JsonArray() },
        };
        File.WriteAllText(Path.Combine(directory, "tokenizer.json"), root.ToJsonString());
        File.WriteAllText(Path.Combine(directory, "tokenizer_config.json"),
            "{\"chat_template\": \"{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}\"}");
        return directory;
    }
}
