using System.CommandLine;
using System.Globalization;
using Peft.Net.Cli.Commands.Quantize;
using Peft.Net.Cli.Infrastructure;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands;

/// <summary>
/// <c>peft quantize &lt;in.safetensors&gt; -o &lt;out.safetensors&gt; [--quant-type nf4|fp4] [--blocksize 64] [--double-quant]
/// [--include REGEX] [--exclude REGEX] [--json]</c>: converts the selected 2-D floating tensors into bitsandbytes' 4-bit
/// safetensors layout (see <see cref="Bnb4BitSerializer"/>) and copies every other tensor unchanged. One tensor is in
/// memory at a time: a first pass reads each selected tensor to size its quant_state (the nested offset), the second
/// quantizes and writes it. Output order: the input's, each quantized tensor followed by its parts.
/// </summary>
internal static class QuantizeCommand
{
    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "The .safetensors file to quantize." };
        var output = new Option<string>("--output", "-o") { Description = "The .safetensors file to write.", Required = true };
        var quantType = new Option<string>("--quant-type") { Description = "4-bit code book: nf4 (QLoRA) or fp4.", DefaultValueFactory = _ => "nf4" };
        quantType.AcceptOnlyFromAmong("nf4", "fp4");
        var blockSize = new Option<int>("--blocksize") { Description = "Elements per absmax: 32, 64, 128, …, 4096.", DefaultValueFactory = _ => 64 };
        var doubleQuant = new Option<bool>("--double-quant") { Description = "Quantize the absmax too (QLoRA's double quantization)." };
        var include = new Option<string?>("--include") { Description = "Quantize the 2-D floating tensors whose name matches this regex (instead of the default selection)." };
        var exclude = new Option<string?>("--exclude") { Description = "Keep the tensors whose name matches this regex." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };
        var command = new Command("quantize", "Quantize a safetensors file's linear weights to NF4/FP4 in bitsandbytes' layout.")
        {
            input, output, quantType, blockSize, doubleQuant, include, exclude, json,
        };
        command.SetCliAction((parseResult, console) =>
        {
            int b = parseResult.GetValue(blockSize);
            if (!QuantizedTensor.SupportedBlockSizes.Contains(b))
                throw new CliUserException($"--blocksize {b}: bitsandbytes supports {string.Join(", ", QuantizedTensor.SupportedBlockSizes)}");
            var options = new Options(parseResult.GetValue(quantType) == "fp4" ? QuantType.Fp4 : QuantType.Nf4, b, parseResult.GetValue(doubleQuant),
                new TensorSelection(TensorSelection.ParsePattern("--include", parseResult.GetValue(include)),
                    TensorSelection.ParsePattern("--exclude", parseResult.GetValue(exclude))));
            return Run(console, parseResult.GetValue(input)!, parseResult.GetValue(output)!, options, parseResult.GetValue(json));
        });
        return command;
    }

    private sealed record Options(QuantType QuantType, int BlockSize, bool DoubleQuant, TensorSelection Selection);

    /// <summary>One input tensor: copied, or quantized into the declared parts.</summary>
    private sealed record Item(SafetensorsEntry Entry, IReadOnlyList<SafetensorsTensorSpec> Specs, bool Quantize);

    private sealed record Converted(string Name, int[] Shape, DType DType, long Parameters, long BytesBefore, long BytesAfter);

    private static int Run(CliConsole console, string input, string output, Options options, bool json)
    {
        CheckPaths(input, output);
        using var file = SafetensorsFile.Open(input);
        var items = Plan(file, options);
        int selected = items.Count(i => i.Quantize);
        if (selected == 0)
            console.Error.WriteLine($"warning: {input}: no tensor matches the selection; every tensor is copied unchanged");

        var converted = new List<Converted>();
        double totalBytes = items.Sum(i => (double)i.Entry.ByteLength);
        using (var writer = new SafetensorsWriter(output, items.SelectMany(i => i.Specs), file.Metadata))
        {
            CliProgress.Run(console, $"quantizing {Path.GetFileName(input)}", totalBytes, report =>
            {
                foreach (var item in items)
                {
                    if (!item.Quantize)
                    {
                        TensorCopy.Copy(file, item.Entry, writer);
                        report(item.Entry.ByteLength, $"copied {item.Entry.Name} {item.Entry.DTypeName} {Shape(item.Entry.ShapeArray())}");
                        continue;
                    }
                    var tensor = file.ReadTensor(item.Entry.Name);
                    var q = Nf4Quantizer.Quantize(tensor, options.QuantType, options.BlockSize, options.DoubleQuant);
                    foreach (var (_, part) in Bnb4BitSerializer.ToTensors(item.Entry.Name, q))
                        writer.Write(part);
                    converted.Add(new Converted(item.Entry.Name, tensor.ShapeArray(), tensor.DType, q.ElementCount, item.Entry.ByteLength, q.StorageBytes));
                    report(item.Entry.ByteLength, $"quantized {item.Entry.Name} {item.Entry.DTypeName} {Shape(tensor.ShapeArray())} -> {q.Describe()}, {q.BitsPerParameter.ToString("F3", CultureInfo.InvariantCulture)} bits/param");
                }
            }, quiet: json);
            writer.Commit();
        }
        Report(console, input, output, options, converted, items.Count - selected, json);
        return CliAction.Success;
    }

    private static void CheckPaths(string input, string output)
    {
        if (!File.Exists(input))
            throw new CliUserException($"{input}: no such file");
        if (string.Equals(Path.GetFullPath(input), Path.GetFullPath(output), StringComparison.Ordinal))
            throw new CliUserException($"{output}: the output must be another file than the input");
    }

    /// <summary>Declares every output tensor before any is written (the safetensors header comes first).</summary>
    private static List<Item> Plan(SafetensorsFile file, Options options)
    {
        var alreadyQuantized = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in Bnb4BitSerializer.FindQuantizedTensors(file.Entries.Select(e => e.Name)))
            foreach (string key in Bnb4BitSerializer.ReadInfo(file, name).PartKeys)
                alreadyQuantized.Add(key);
        var items = new List<Item>(file.Entries.Count);
        foreach (var entry in file.Entries)
        {
            bool quantize = !alreadyQuantized.Contains(entry.Name)
                            && options.Selection.Selects(entry.Name, entry.IsSupported ? entry.DType : null, entry.Shape);
            if (!quantize)
            {
                items.Add(new Item(entry, [TensorCopy.Spec(file, entry)], false));
                continue;
            }
            float? offset = null;
            if (options.DoubleQuant)
                offset = Nf4Quantizer.DoubleQuantOffset(file.ReadTensor(entry.Name), options.BlockSize);
            var specs = Bnb4BitSerializer.PlanSpecs(entry.Name, entry.ShapeArray(), entry.DType, options.QuantType, options.BlockSize, offset);
            foreach (var spec in specs.Skip(1))
                if (file.Contains(spec.Name))
                    throw new CliUserException($"{file.FilePath}: tensor '{spec.Name}' exists, so '{entry.Name}' cannot be quantized without overwriting it");
            items.Add(new Item(entry, specs, true));
        }
        return items;
    }

    private static void Report(CliConsole console, string input, string output, Options options, List<Converted> converted, int copied, bool json)
    {
        long parameters = converted.Sum(c => c.Parameters), before = converted.Sum(c => c.BytesBefore), after = converted.Sum(c => c.BytesAfter);
        double bits = parameters == 0 ? 0 : 8.0 * after / parameters;
        long fileBytes = new FileInfo(output).Length;
        if (json)
        {
            JsonOutput.WriteObject(console.Out, w =>
            {
                w.WriteString("input", input);
                w.WriteString("output", output);
                w.WriteString("quant_type", options.QuantType == QuantType.Nf4 ? "nf4" : "fp4");
                w.WriteNumber("blocksize", options.BlockSize);
                w.WriteBoolean("double_quant", options.DoubleQuant);
                w.WriteStartArray("quantized");
                foreach (var c in converted)
                {
                    w.WriteStartObject();
                    w.WriteString("name", c.Name);
                    w.WriteString("dtype", c.DType.ToString().ToUpperInvariant());
                    w.WriteStartArray("shape");
                    foreach (int d in c.Shape) w.WriteNumberValue(d);
                    w.WriteEndArray();
                    w.WriteNumber("bytes_before", c.BytesBefore);
                    w.WriteNumber("bytes_after", c.BytesAfter);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("copied", copied);
                w.WriteNumber("parameters", parameters);
                w.WriteNumber("bytes_before", before);
                w.WriteNumber("bytes_after", after);
                w.WriteNumber("bits_per_parameter", Math.Round(bits, 6));
                w.WriteNumber("file_bytes", fileBytes);
            });
            return;
        }
        console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{output}: quantized {converted.Count} tensors ({parameters} parameters, {before} -> {after} bytes, {bits:F3} bits/param), copied {copied}; {fileBytes} bytes"));
    }

    private static string Shape(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
