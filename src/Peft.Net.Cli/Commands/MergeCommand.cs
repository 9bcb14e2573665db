using System.CommandLine;
using Peft.Net.Cli.Commands.Merge;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft merge --base &lt;model dir | .safetensors&gt; --adapter &lt;adapter dir&gt; -o &lt;out dir | .safetensors&gt;</c>:
/// merges a LoRA/DoRA adapter in HF PEFT format into the base weights with PEFT's formulas, directly on the tensors
/// (no model class). Every other tensor and the base dtype are kept; a folder base keeps its shard layout and its
/// config/tokenizer files (<c>*.json</c>, <c>*.txt</c>, <c>*.model</c>, <c>*.jinja</c>, <c>*.tiktoken</c>) are copied.
/// </summary>
internal static class MergeCommand
{
    private static readonly string[] CopiedPatterns = ["*.json", "*.txt", "*.model", "*.jinja", "*.tiktoken"];

    public static Command Create()
    {
        var basePath = new Option<string>("--base") { Description = "The base model: a .safetensors file or a model folder (model.safetensors or shards with model.safetensors.index.json).", Required = true };
        var adapter = new Option<string>("--adapter") { Description = "The adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var output = new Option<string>("--output", "-o") { Description = "The merged model: a folder, or a single .safetensors file.", Required = true };
        var command = new Command("merge", "Merge a LoRA/DoRA adapter (HF PEFT format) into the base model's weights.")
        {
            basePath,
            adapter,
            output,
        };
        command.SetCliAction((parseResult, console) =>
            Run(console, parseResult.GetValue(basePath)!, parseResult.GetValue(adapter)!, parseResult.GetValue(output)!));
        return command;
    }

    private static int Run(CliConsole console, string basePath, string adapterFolder, string output)
    {
        var checkpoint = BaseCheckpoint.Find(basePath);
        var files = checkpoint.Shards.Select(SafetensorsFile.Open).ToList();
        try
        {
            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            foreach (var file in files)
                foreach (var entry in file.Entries)
                    if (!entries.TryAdd(entry.Name, entry))
                        throw new CliUserException($"{file.FilePath}: tensor '{entry.Name}' is also in another shard of {basePath}");
            using var plan = MergePlan.Create(adapterFolder, entries, basePath);
            bool singleFile = output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
            var targets = singleFile
                ? [(Path.GetFullPath(output), (IReadOnlyList<SafetensorsFile>)files)]
                : files.Select(f => (Path.GetFullPath(Path.Combine(output, Path.GetFileName(f.FilePath))), (IReadOnlyList<SafetensorsFile>)[f])).ToList();
            foreach (var (target, _) in targets)
                if (checkpoint.Shards.Contains(target))
                    throw new CliUserException($"{target}: the output would overwrite the base model; choose another -o");
            if (!singleFile)
                Directory.CreateDirectory(output);
            else if (Path.GetDirectoryName(Path.GetFullPath(output)) is { } folder && !Directory.Exists(folder))
                throw new CliUserException($"{output}: folder '{folder}' does not exist");
            int changed = 0;
            foreach (var (target, sources) in targets)
            {
                changed += Write(target, sources, plan);
                console.Out.WriteLine($"wrote {target}");
            }
            if (!singleFile && checkpoint.IsFolder)
            {
                CopyFolderFiles(checkpoint.Path, output, console);
                if (plan.Added.Count > 0)
                    UntieHead(output, plan, files, console);
            }
            console.Out.WriteLine($"merged {plan.Modules} adapted modules ({changed} tensors changed) from {adapterFolder} into {output}");
            return CliAction.Success;
        }
        finally
        {
            foreach (var file in files) file.Dispose();
        }
    }

    /// <summary>Writes every tensor of <paramref name="sources"/> to <paramref name="target"/> (merged where the plan says), in file order.</summary>
    private static int Write(string target, IReadOnlyList<SafetensorsFile> sources, MergePlan plan)
    {
        var added = plan.Added.Where(a => sources.Any(f => f.Entries.Contains(a.Partner))).ToList();
        var specs = sources.SelectMany(f => f.Entries).Select(e => new SafetensorsTensorSpec(e.Name, e.DType, e.ShapeArray()))
            .Concat(added.Select(a => new SafetensorsTensorSpec(a.Name, a.Partner.DType, a.Partner.ShapeArray())));
        int changed = 0;
        using var writer = new SafetensorsWriter(target, specs, sources[0].Metadata.Count > 0 ? sources[0].Metadata : null);
        var buffer = new byte[1 << 20];
        foreach (var file in sources)
            foreach (var entry in file.Entries)
            {
                if (plan.Changes(entry.Name))
                {
                    writer.Write(plan.Apply(entry.Name, file.ReadTensor(entry.Name)));
                    changed++;
                    continue;
                }
                if (entry.ByteLength == 0) writer.WriteBytes([]);
                for (long done = 0; done < entry.ByteLength; done += buffer.Length)
                {
                    int length = (int)Math.Min(buffer.Length, entry.ByteLength - done);
                    file.CopyBytes(entry.Name, done, buffer.AsSpan(0, length));
                    writer.WriteBytes(buffer.AsSpan(0, length));
                }
            }
        foreach (var tensor in added)
        {
            writer.Write(tensor.Value());
            changed++;
        }
        writer.Commit();
        return changed;
    }

    /// <summary>
    /// The adapter saved a head for a base whose head was tied to the input embedding: the merged folder now has its
    /// own <c>lm_head.weight</c>, so config.json says <c>tie_word_embeddings: false</c> (as PEFT's merge_and_unload
    /// does) and a shard index maps the new tensor to its shard. Both files are rewritten atomically.
    /// </summary>
    private static void UntieHead(string output, MergePlan plan, IReadOnlyList<SafetensorsFile> files, CliConsole console)
    {
        string config = Path.Combine(output, "config.json");
        if (File.Exists(config))
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config)) as System.Text.Json.Nodes.JsonObject
                ?? throw new CliUserException($"{config}: expected a JSON object");
            node["tie_word_embeddings"] = false;
            AtomicFile.WriteAllText(config, node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
            console.Out.WriteLine("config.json: tie_word_embeddings set to false (the adapter trained its own lm_head)");
        }
        string index = Path.Combine(output, BaseCheckpoint.IndexFile);
        if (File.Exists(index))
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(index))!.AsObject();
            var map = node["weight_map"]!.AsObject();
            foreach (var tensor in plan.Added)
                map[tensor.Name] = Path.GetFileName(files.First(f => f.Entries.Contains(tensor.Partner)).FilePath);
            AtomicFile.WriteAllText(index, node.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }

    private static void CopyFolderFiles(string from, string to, CliConsole console)
    {
        foreach (var pattern in CopiedPatterns)
            foreach (var file in Directory.GetFiles(from, pattern))
            {
                string destination = Path.Combine(to, Path.GetFileName(file));
                if (Path.GetFullPath(destination) == Path.GetFullPath(file)) continue;
                File.Copy(file, destination, overwrite: true);
                console.Out.WriteLine($"copied {Path.GetFileName(file)}");
            }
    }
}
