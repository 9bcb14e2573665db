using System.CommandLine;
using Peft.Net.Cli.Commands.Quantize;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft dequantize &lt;in.safetensors&gt; -o &lt;out.safetensors&gt; [--dtype f32|f16|bf16] [--json]</c>: every bitsandbytes
/// 4-bit tensor (recognised by its quant_state key) becomes a dense tensor of its original shape, in its original dtype
/// unless <c>--dtype</c> says otherwise; every other tensor is copied unchanged. Every quantized tensor's layout is
/// checked before the output is created; one tensor is decoded at a time.
/// </summary>
internal static class DequantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A .safetensors file with bitsandbytes 4-bit tensors." };
        var output = new Option<string>("--output", "-o") { Description = "The .safetensors file to write.", Required = true };
        var dtype = new Option<string?>("--dtype") { Description = "Output dtype of the decoded tensors: f32, f16 or bf16 (default: each tensor's original dtype)." };
        dtype.AcceptOnlyFromAmong("f32", "f16", "bf16");
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("dequantize", "Decode a safetensors file's bitsandbytes 4-bit tensors back to dense tensors.")
        {
            input, output, dtype, json,
        };
        command.SetCliAction((parseResult, console) =>
        {
            DType? target = parseResult.GetValue(dtype) switch
            {
                "f32" => DType.F32,
                "f16" => DType.F16,
                "bf16" => DType.BF16,
                _ => null,
            };
            return Run(console, parseResult.GetValue(input)!, parseResult.GetValue(output)!, target, parseResult.GetValue(json));
        });
        return command;
    }

    private static int Run(CliConsole console, string input, string output, DType? dtype, bool json)
    {
        if (!File.Exists(input))
            throw new CliUserException($"{input}: no such file");
        if (string.Equals(Path.GetFullPath(input), Path.GetFullPath(output), StringComparison.Ordinal))
            throw new CliUserException($"{output}: the output must be another file than the input");
        using var file = SafetensorsFile.Open(input);
        var infos = Bnb4BitSerializer.FindQuantizedTensors(file.Entries.Select(e => e.Name))
            .Select(name => Bnb4BitSerializer.ReadInfo(file, name))
            .ToDictionary(info => info.Name, StringComparer.Ordinal);
        var parts = new HashSet<string>(infos.Values.SelectMany(i => i.PartKeys.Skip(1)), StringComparer.Ordinal);
        if (infos.Count == 0)
            console.Error.WriteLine($"warning: {input}: no bitsandbytes 4-bit tensors; every tensor is copied unchanged");

        var specs = new List<SafetensorsTensorSpec>();
        foreach (var entry in file.Entries)
        {
            if (infos.TryGetValue(entry.Name, out var info))
                specs.Add(new SafetensorsTensorSpec(entry.Name, dtype ?? info.OriginalDType, info.Shape));
            else if (!parts.Contains(entry.Name))
                specs.Add(TensorCopy.Spec(file, entry));
        }

        long decodedElements = 0;
        int copied = 0;
        using (var writer = new SafetensorsWriter(output, specs, file.Metadata))
        {
            CliProgress.Run(console, $"dequantizing {Path.GetFileName(input)}", file.Entries.Sum(e => (double)e.ByteLength), report =>
            {
                foreach (var entry in file.Entries)
                {
                    if (infos.TryGetValue(entry.Name, out var info))
                    {
                        var q = Bnb4BitSerializer.Read(file, entry.Name);
                        var dense = q.Dequantize(dtype ?? info.OriginalDType);
                        writer.Write(dense);
                        decodedElements += q.ElementCount;
                        long partBytes = info.PartKeys.Sum(k => file.GetEntry(k).ByteLength);
                        report(partBytes, $"dequantized {entry.Name} {q.Describe()} -> {dense.Describe()}");
                    }
                    else if (!parts.Contains(entry.Name))
                    {
                        TensorCopy.Copy(file, entry, writer);
                        copied++;
                        report(entry.ByteLength, $"copied {entry.Name} {entry.DTypeName} [{string.Join(", ", entry.ShapeArray())}]");
                    }
                }
            }, quiet: json);
            writer.Commit();
        }
        long fileBytes = new FileInfo(output).Length;
        if (json)
            JsonOutput.WriteObject(console.Out, w =>
            {
                w.WriteString("input", input);
                w.WriteString("output", output);
                w.WriteNumber("dequantized", infos.Count);
                w.WriteNumber("copied", copied);
                w.WriteNumber("parameters", decodedElements);
                w.WriteNumber("file_bytes", fileBytes);
            });
        else
            console.Out.WriteLine($"{output}: dequantized {infos.Count} tensors ({decodedElements} parameters), copied {copied}; {fileBytes} bytes");
        return CliAction.Success;
    }
}
