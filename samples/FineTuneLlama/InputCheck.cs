namespace FineTuneLlama;

/// <summary>Checks that the checkpoint folder and the data file exist before anything is loaded, and says how to get them.</summary>
public static class InputCheck
{
    public const string DownloadHelp =
        "Download a Llama-style checkpoint with safetensors weights, for example:\n" +
        "  pip install -U \"huggingface_hub[cli]\"\n" +
        "  huggingface-cli download HuggingFaceTB/SmolLM-135M --local-dir models/SmolLM-135M\n" +
        "  (or TinyLlama/TinyLlama-1.1B-Chat-v1.0 --local-dir models/TinyLlama-1.1B)\n" +
        "then pass --model models/SmolLM-135M.";

    public const string DataHelp =
        "The data file is JSON Lines, one example per line: {\"prompt\": \"…\", \"completion\": \"…\"} " +
        "(or {\"text\": \"…\"} for plain text).";

    /// <summary>Every missing input, each with what to do about it; empty when all is there.</summary>
    public static IReadOnlyList<string> Problems(FineTuneOptions options)
    {
        var problems = new List<string>();
        if (options.ModelDirectory is null)
            problems.Add($"No model folder given (--model <dir>).\n{DownloadHelp}");
        else if (!Directory.Exists(options.ModelDirectory))
            problems.Add($"The model folder '{options.ModelDirectory}' does not exist.\n{DownloadHelp}");
        else
        {
            foreach (string file in new[] { "config.json", "tokenizer.json" })
                if (!File.Exists(Path.Combine(options.ModelDirectory, file)))
                    problems.Add($"'{options.ModelDirectory}' has no {file}: it is not a complete Hugging Face checkpoint folder.\n{DownloadHelp}");
            if (!Directory.EnumerateFiles(options.ModelDirectory, "*.safetensors").Any())
                problems.Add($"'{options.ModelDirectory}' has no *.safetensors weights (PyTorch .bin files are not read).\n{DownloadHelp}");
        }
        if (options.Chat && options.ModelDirectory is not null && Directory.Exists(options.ModelDirectory)
            && !HasChatTemplate(options.ModelDirectory))
            problems.Add($"'{options.ModelDirectory}' has no chat template (chat_template in tokenizer_config.json or chat_template.jinja): " +
                         "chat fine-tuning needs an instruct model, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.");
        if (options.DataFile is null && options.Chat)
            return problems; // chat mode generates its own {"messages"} data
        if (options.DataFile is null)
            problems.Add($"No data file given (--data <file.jsonl>).\n{DataHelp}");
        else if (!File.Exists(options.DataFile))
            problems.Add($"The data file '{options.DataFile}' does not exist.\n{DataHelp}");
        return problems;
    }

    private static bool HasChatTemplate(string directory)
    {
        try
        {
            return Peft.Net.Models.ChatTemplates.ChatTemplate.FromDirectory(directory) is not null;
        }
        catch (Exception e) when (e is InvalidDataException or Peft.Net.Models.ChatTemplates.ChatTemplateException)
        {
            return false;
        }
    }
}
