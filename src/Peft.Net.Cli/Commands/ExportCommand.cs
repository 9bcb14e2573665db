using System.CommandLine;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Gguf;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft export gguf --model &lt;dir|.gguf&gt; [--adapter &lt;dir&gt;] -o &lt;out.gguf&gt; [--dtype f32|f16|bf16|q8_0]</c> and
/// <c>peft export gguf-adapter --model &lt;dir|.gguf&gt; --adapter &lt;dir&gt; -o &lt;adapter.gguf&gt;</c>: GGUF files for llama.cpp.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var command = new Command("export", "Write models and adapters in other runtimes' formats (GGUF for llama.cpp / LLamaSharp).");
        command.Subcommands.Add(Gguf());
        command.Subcommands.Add(GgufAdapter());
        return command;
    }

    private static Command Gguf()
    {
        var model = new Option<string>("--model") { Description = "The model folder (config.json, model.safetensors, tokenizer.json) or a .gguf file.", Required = true };
        var adapter = new Option<string?>("--adapter") { Description = "A LoRA/DoRA adapter folder (PEFT layout), merged into the weights first." };
        var output = new Option<string>("--output", "-o") { Description = "The .gguf file to write.", Required = true };
        var dtype = new Option<string>("--dtype") { Description = "Type of the matrices: f32, f16, bf16 or q8_0 (norms and biases stay f32).", DefaultValueFactory = _ => "f32" };
        dtype.AcceptOnlyFromAmong("f32", "f16", "bf16", "q8_0");
        var command = new Command("gguf", "Write a GGUF v3 model that llama.cpp loads (adapter merged first), with the tokenizer and chat template.")
        {
            model, adapter, output, dtype,
        };
        command.SetCliAction((result, console) =>
        {
            string modelPath = result.GetValue(model)!, outputPath = result.GetValue(output)!;
            var type = result.GetValue(dtype) switch { "f16" => GgufTensorType.F16, "bf16" => GgufTensorType.BF16, "q8_0" => GgufTensorType.Q8_0, _ => GgufTensorType.F32 };
            CheckOutput(outputPath, modelPath);
            var loaded = ModelSource.Load(modelPath, DType.F32);
            if (result.GetValue(adapter) is { } adapterDir)
            {
                if (!Directory.Exists(adapterDir)) throw new CliUserException($"{adapterDir}: the adapter folder does not exist");
                Guard(adapterDir, () => loaded.LoadAdapter(adapterDir));
                loaded = (LlamaForCausalLM)loaded.MergeAndUnload();
                console.Out.WriteLine($"merged {adapterDir}");
            }
            Guard(modelPath, () => loaded.ExportGguf(outputPath, new GgufExportOptions { TensorType = type, TokenizerDirectory = modelPath }));
            console.Out.WriteLine($"wrote {outputPath} ({loaded.Config.ModelType}, {result.GetValue(dtype)}, {new FileInfo(outputPath).Length} bytes)");
            return CliAction.Success;
        });
        return command;
    }

    private static Command GgufAdapter()
    {
        var model = new Option<string>("--model") { Description = "The base model folder or .gguf file (for the architecture and head counts).", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "The LoRA adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The adapter .gguf file to write.", Required = true };
        var command = new Command("gguf-adapter", "Write a LoRA adapter as the GGUF that llama.cpp applies over the base GGUF at load time.")
        {
            model, adapter, output,
        };
        command.SetCliAction((result, console) =>
        {
            string modelPath = result.GetValue(model)!, adapterDir = result.GetValue(adapter)!, outputPath = result.GetValue(output)!;
            CheckOutput(outputPath, modelPath);
            if (!Directory.Exists(adapterDir)) throw new CliUserException($"{adapterDir}: the adapter folder does not exist");
            var config = ModelSource.Config(modelPath);
            Guard(adapterDir, () => GgufLoraAdapter.Export(adapterDir, config, outputPath));
            console.Out.WriteLine($"wrote {outputPath} (LoRA adapter for {config.ModelType})");
            return CliAction.Success;
        });
        return command;
    }

    private static void CheckOutput(string output, string model)
    {
        if (Path.GetFullPath(output) == Path.GetFullPath(model)) throw new CliUserException($"{output}: the output would overwrite the model; choose another -o");
        if (Path.GetDirectoryName(Path.GetFullPath(output)) is { } folder && !Directory.Exists(folder))
            throw new CliUserException($"{output}: folder '{folder}' does not exist");
    }

    private static void Guard(string source, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or InvalidOperationException or Adapters.AdapterFormatException)
        {
            throw new CliUserException($"{source}: {e.Message}", e);
        }
    }
}
