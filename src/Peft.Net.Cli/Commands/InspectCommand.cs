using System.CommandLine;
using Peft.Net.Cli.Commands.Inspect;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft inspect &lt;file | dir&gt; [--json]</c>: the tensors of a .safetensors file (name, dtype, shape, bytes),
/// the safetensors files and shard index of a model folder, or an adapter folder's config and trainable
/// parameter count.
/// </summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("path") { Description = "A .safetensors file, a model folder, or an adapter folder (with adapter_config.json)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("inspect", "List the tensors of a safetensors file, the files of a model folder, or an adapter's config and trainable parameter count.")
        {
            path,
            json,
        };
        command.SetCliAction((parseResult, console) => Run(console, parseResult.GetValue(path)!, parseResult.GetValue(json)));
        return command;
    }

    private static int Run(CliConsole console, string path, bool json)
    {
        var report = Read(path);
        if (json)
            JsonOutput.WriteObject(console.Out, report.WriteJson);
        else
            report.WriteText(console);
        return CliAction.Success;
    }

    private static IInspectReport Read(string path)
    {
        if (Directory.Exists(path))
            return File.Exists(Path.Combine(path, AdapterReport.ConfigFile)) ? AdapterReport.Read(path) : ModelFolderReport.Read(path);
        if (File.Exists(path))
            return TensorFileReport.Read(path);
        throw new CliUserException($"{path}: no such file or folder");
    }
}
