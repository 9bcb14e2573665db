using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Tokenization;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft generate --model &lt;dir&gt; [--adapter &lt;dir&gt;] (--prompt TEXT | --ids 1,2,3) [--max-new-tokens 32] [--greedy | --temperature T
/// --top-k K --top-p P] [--repetition-penalty R] [--seed 0] [--print-ids] [--load-in-4bit [--quant-type nf4|fp4] [--blocksize 64]
/// [--no-double-quant]]</c>: continues a prompt with a KV cache; <c>--load-in-4bit</c> quantizes the linear layers as they are read.
/// <c>--adapter</c> applies a LoRA/DoRA adapter in Hugging Face PEFT layout. <c>--prompt</c> is encoded with the folder's tokenizer.json (with the model's special tokens, e.g. BOS). Decoding is
/// greedy unless a sampling option is given. The new ids (<c>--print-ids</c>, or when the folder has no tokenizer)
/// or their text (special tokens left out) go to stdout; a timing line goes to stderr. <c>--chat TEXT [--system TEXT]</c>
/// renders the turn(s) with the model's chat template and stops at its end-of-turn tokens.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "The model folder (config.json + model.safetensors) or a .gguf file.", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA/DoRA adapter folder in Hugging Face PEFT layout to apply to the model." };
        var prompt = new Option<string?>("--prompt") { Description = "The prompt text (needs tokenizer.json in the model folder)." };
        var ids = new Option<string?>("--ids") { Description = "The prompt as comma-separated token ids, e.g. 1,2,3." };
        var maxNewTokens = new Option<int>("--max-new-tokens") { Description = "The most tokens to generate.", DefaultValueFactory = _ => 32 };
        var greedy = new Option<bool>("--greedy") { Description = "Take the most likely token at every step (the default without sampling options)." };
        var temperature = new Option<float?>("--temperature") { Description = "Sample with this temperature." };
        var topK = new Option<int?>("--top-k") { Description = "Sample among the K most likely tokens." };
        var topP = new Option<float?>("--top-p") { Description = "Sample among the most likely tokens whose probability reaches P." };
        var repetitionPenalty = new Option<float>("--repetition-penalty") { Description = "Penalise tokens already seen (1 = off).", DefaultValueFactory = _ => 1f };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the sampler.", DefaultValueFactory = _ => 0UL };
        var printIds = new Option<bool>("--print-ids") { Description = "Print the generated ids as one comma-separated line." };
        var chat = new Option<string?>("--chat") { Description = "One user turn, rendered with the model's chat template (generation prompt added); stops at the end-of-turn tokens." };
        var system = new Option<string?>("--system") { Description = "A system turn before the --chat user turn." };
        var loadIn4Bit = new Option<bool>("--load-in-4bit") { Description = "Quantize the linear layers (all but the head) to 4-bit as they are read (see --quant-type, --blocksize, --no-double-quant)." };
        var fourBit = new FourBitOptions();
        var command = new Command("generate", "Continue a prompt with a Llama-family model (KV cache; greedy or sampled).")
        {
            model, adapter, prompt, ids, maxNewTokens, greedy, temperature, topK, topP, repetitionPenalty, seed, printIds, loadIn4Bit, chat, system,
        };
        fourBit.AddTo(command);
        command.SetCliAction((result, console) =>
        {
            bool sampling = result.GetValue(temperature) is not null || result.GetValue(topK) is not null || result.GetValue(topP) is not null;
            if (result.GetValue(greedy) && sampling)
                throw new CliUserException("--greedy cannot be combined with --temperature, --top-k or --top-p");
            var options = new GenerationOptions
            {
                MaxNewTokens = result.GetValue(maxNewTokens),
                Greedy = !sampling,
                Temperature = result.GetValue(temperature) ?? 1f,
                TopK = result.GetValue(topK) ?? 0,
                TopP = result.GetValue(topP) ?? 1f,
                RepetitionPenalty = result.GetValue(repetitionPenalty),
                Seed = result.GetValue(seed),
            };
            var quantization = fourBit.Read(result);
            if (result.GetValue(system) is not null && result.GetValue(chat) is null)
                throw new CliUserException("--system needs --chat");
            if (result.GetValue(chat) is { } userTurn)
            {
                if (result.GetValue(prompt) is not null || result.GetValue(ids) is not null)
                    throw new CliUserException("give the prompt as --chat TEXT, --prompt TEXT or --ids 1,2,3 (only one)");
                return ChatGeneration.Run(console, result.GetValue(model)!, result.GetValue(adapter), userTurn, result.GetValue(system), options, result.GetValue(printIds));
            }
            return Run(console, result.GetValue(model)!, result.GetValue(adapter), result.GetValue(prompt), result.GetValue(ids), options, result.GetValue(printIds),
                result.GetValue(loadIn4Bit) ? quantization : null);
        });
        return command;
    }

    private static int Run(CliConsole console, string modelDir, string? adapterDir, string? prompt, string? ids, GenerationOptions options, bool printIds,
        FourBitQuantization? quantization)
    {
        if ((prompt is null) == (ids is null))
            throw new CliUserException("give the prompt either as --prompt TEXT or as --ids 1,2,3");
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUserException(e.Message, e);
        }
        var model = Load(modelDir, quantization);
        if (adapterDir is not null) LoadAdapter(model, adapterDir);
        var tokenizer = LoadTokenizer(modelDir, required: prompt is not null);
        var clock = Stopwatch.StartNew();
        int[] promptIds, generated;
        string? text = null;
        try
        {
            promptIds = ids is not null ? ParseIds(ids, model.Config.VocabSize, modelDir) : tokenizer!.Encode(prompt!, addSpecialTokens: true);
            if (promptIds.Length == 0)
                throw new CliUserException("--prompt: the text encodes to no tokens");
            int room = model.Config.MaxPositionEmbeddings - promptIds.Length;
            if (options.MaxNewTokens > room)
                throw new CliUserException(room > 0
                    ? $"--max-new-tokens {options.MaxNewTokens}: the prompt ({promptIds.Length} ids) leaves room for {room} new tokens within the model's max_position_embeddings ({model.Config.MaxPositionEmbeddings}); use --max-new-tokens {room} or less"
                    : $"the prompt ({promptIds.Length} ids) already fills the model's max_position_embeddings ({model.Config.MaxPositionEmbeddings}); shorten it");
            generated = model.Generate(promptIds, options);
            if (!printIds && tokenizer is not null)
                text = tokenizer.Decode(generated, skipSpecialTokens: true);
        }
        catch (ArgumentException e)
        {
            throw new CliUserException($"{modelDir}: {e.Message}", e);
        }
        clock.Stop();
        // The ids when asked for, or when there is no tokenizer to turn them into text.
        console.Out.WriteLine(text ?? string.Join(",", generated));
        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{modelDir}: {generated.Length} new tokens after {promptIds.Length} prompt ids in {seconds:F2} s ({generated.Length / seconds:F1} tokens/s)"));
        return CliAction.Success;
    }

    internal static LlamaForCausalLM Load(string modelDir, FourBitQuantization? quantization = null)
    {
        try
        {
            return ModelSource.Load(modelDir, quantization: quantization);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new CliUserException(e.Message, e);
        }
    }

    internal static void LoadAdapter(LlamaForCausalLM model, string adapterDir)
    {
        if (!Directory.Exists(adapterDir))
            throw new CliUserException($"{adapterDir}: the adapter folder does not exist");
        try
        {
            model.LoadAdapter(adapterDir);
        }
        catch (ArgumentException e)
        {
            throw new CliUserException($"{adapterDir}: {e.Message}", e);
        }
    }

    /// <summary>The folder's tokenizer.json, or null when it has none and none is <paramref name="required"/>.</summary>
    private static ITokenizer? LoadTokenizer(string modelDir, bool required)
    {
        if (ModelSource.IsGguf(modelDir)) return ModelSource.Tokenizer(modelDir);
        if (!File.Exists(Path.Combine(modelDir, "tokenizer.json")))
            return required ? throw new CliUserException($"{modelDir}: --prompt needs tokenizer.json in the model folder (or pass --ids)") : null;
        try
        {
            return Tokenizer.FromDirectory(modelDir);
        }
        catch (InvalidDataException e)
        {
            throw new CliUserException(e.Message, e);
        }
    }

    private static int[] ParseIds(string text, int vocabSize, string modelDir)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]))
                throw new CliUserException($"--ids: '{parts[i]}' is not a token id (give comma-separated integers, e.g. 1,2,3)");
            if ((uint)result[i] >= (uint)vocabSize)
                throw new CliUserException($"--ids: id {result[i]} is outside the vocabulary [0, {vocabSize}) of {modelDir}");
        }
        return result;
    }
}
