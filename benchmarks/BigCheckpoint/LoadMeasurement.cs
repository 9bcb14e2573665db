using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Peft.Net.Core;
using Peft.Net.Core.Nn;
using Peft.Net.Models;
using Peft.Net.Quantization;

namespace BigCheckpoint;

/// <summary>
/// Loads a checkpoint and prints one JSON line: peak resident set of the process (VmHWM, Linux), resident set before
/// loading (the runtime's own), the model's bytes (4-bit weights with their absmax/maps; every other parameter in its
/// dtype) and peak / model bytes.
/// </summary>
internal static partial class LoadMeasurement
{
    public static int Run(string directory, Options options)
    {
        string mode = options.String("--4bit", "nf4");
        FourBitQuantization? quantization = mode switch
        {
            "nf4" => FourBitQuantization.QLoRA,
            "fp4" => FourBitQuantization.QLoRA with { QuantType = QuantType.Fp4 },
            "none" => null,
            _ => throw new ArgumentException($"--4bit must be nf4, fp4 or none, not '{mode}'"),
        };
        long before = StatusKilobytes("VmRSS") * 1024;
        var clock = Stopwatch.StartNew();
        var model = LlamaForCausalLM.FromPretrained(directory, quantization: quantization);
        double seconds = clock.Elapsed.TotalSeconds;
        long peak = StatusKilobytes("VmHWM") * 1024;

        long fourBit = 0, other = 0;
        foreach (var (_, module) in model.NamedModules())
            if (module is Nf4Linear layer) fourBit += layer.Weight.StorageBytes;
        foreach (var (_, parameter) in model.NamedParameters())
            other += (long)parameter.Count * parameter.DType.SizeOf();
        GC.KeepAlive(model);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"model\": \"{directory}\", \"mode\": \"{mode}\", \"load_s\": {seconds:F1}, \"peak_rss_mb\": {peak / 1048576.0:F0}, \"rss_before_load_mb\": {before / 1048576.0:F0}, "
            + $"\"four_bit_mb\": {fourBit / 1048576.0:F0}, \"unquantized_mb\": {other / 1048576.0:F0}, \"peak_over_model\": {(double)peak / (fourBit + other):F3}}}"));
        return 0;
    }

    /// <summary>A "Name: N kB" line of /proc/self/status.</summary>
    private static long StatusKilobytes(string name)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(name + ":", StringComparison.Ordinal))
                return long.Parse(Digits().Match(line).Value, CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {name} line (Linux only).");
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();
}
