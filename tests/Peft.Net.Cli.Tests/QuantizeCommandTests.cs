using System.Text.Json;
using Peft.Net.Core;
using Peft.Net.Core.IO;

namespace Peft.Net.Cli.Tests;

public sealed class QuantizeCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>Largest |x − dequant(x)| / absmax of a block for NF4: half the widest gap of the table (−1 … −0.696).</summary>
    private const double Nf4HalfGap = (1.0 - 0.6961928009986877) / 2;

    private string SaveModel()
    {
        var random = new TensorRandom(11);
        var tensors = new Dictionary<string, Tensor>
        {
            ["model.embed_tokens.weight"] = Tensor.Normal([20, 8], 0, 1, random),
            ["model.layers.0.self_attn.q_proj.weight"] = Tensor.Normal([24, 40], 0, 0.02f, random),
            ["model.layers.0.self_attn.q_proj.bias"] = Tensor.Normal([24], 0, 0.02f, random),
            ["model.layers.0.mlp.gate_proj.weight"] = Tensor.Normal([33, 31], 0, 0.05f, random).To(DType.BF16),
            ["model.layers.0.post_attention_layernorm.weight"] = Tensor.Ones(8),
            ["model.layers.0.mlp.router.weight"] = Tensor.Normal([7, 9], 0, 1, random).To(DType.F16),
            ["lm_head.weight"] = Tensor.Normal([20, 8], 0, 1, random),
            ["step"] = Tensor.Empty(DType.I64),
        };
        string path = _folder.File("model.safetensors");
        Safetensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        return path;
    }

    private static Dictionary<string, SafetensorsEntry> Entries(SafetensorsFile file) => file.Entries.ToDictionary(e => e.Name);

    [Fact]
    public void Quantize_then_dequantize_round_trips_within_the_nf4_bound_and_copies_the_rest()
    {
        string input = SaveModel();
        string quantized = _folder.File("q.safetensors"), restored = _folder.File("r.safetensors");
        var q = CliRunner.Run("quantize", input, "-o", quantized, "--exclude", "router");
        Assert.True(q.ExitCode == 0, q.Error);
        Assert.Contains("quantized 2 tensors", q.Out);
        using (var file = SafetensorsFile.Open(quantized))
        {
            var names = file.Entries.Select(e => e.Name).ToHashSet();
            Assert.Contains("model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4", names);
            Assert.Contains("model.layers.0.mlp.gate_proj.weight.absmax", names);
            Assert.DoesNotContain("model.layers.0.mlp.router.weight.absmax", names);
            Assert.DoesNotContain("lm_head.weight.absmax", names);
            Assert.DoesNotContain("model.embed_tokens.weight.absmax", names);
            Assert.Equal("F32", Entries(file)["model.layers.0.self_attn.q_proj.weight.absmax"].DTypeName); // no --double-quant
        }
        var d = CliRunner.Run("dequantize", quantized, "-o", restored, "--dtype", "f32");
        Assert.True(d.ExitCode == 0, d.Error);

        using var original = SafetensorsFile.Open(input);
        using var back = SafetensorsFile.Open(restored);
        Assert.Equal(original.Entries.Select(e => e.Name).Order(), back.Entries.Select(e => e.Name).Order());
        foreach (var entry in original.Entries)
        {
            bool wasQuantized = entry.Name is "model.layers.0.self_attn.q_proj.weight" or "model.layers.0.mlp.gate_proj.weight";
            if (!wasQuantized)
            {
                Assert.Equal(original.ReadBytes(entry.Name), back.ReadBytes(entry.Name));
                continue;
            }
            Assert.Equal(entry.ShapeArray(), back.GetEntry(entry.Name).ShapeArray());
            float[] x = original.ReadTensorAsFloat32(entry.Name).ToArray(), y = back.ReadTensor(entry.Name).ToArray();
            for (int start = 0; start < x.Length; start += 64)
            {
                int count = Math.Min(64, x.Length - start);
                double absmax = x.AsSpan(start, count).ToArray().Max(Math.Abs);
                for (int i = start; i < start + count; i++)
                    Assert.True(Math.Abs(x[i] - y[i]) <= Nf4HalfGap * absmax * (1 + 1e-6),
                        $"{entry.Name}[{i}]: {x[i]} decoded as {y[i]}, beyond the NF4 bound {Nf4HalfGap * absmax}");
            }
        }
        // Without --dtype the decoded tensors take their original dtype.
        string natural = _folder.File("n.safetensors");
        Assert.Equal(0, CliRunner.Run("dequantize", quantized, "-o", natural).ExitCode);
        using var naturalFile = SafetensorsFile.Open(natural);
        Assert.Equal("BF16", naturalFile.GetEntry("model.layers.0.mlp.gate_proj.weight").DTypeName);
    }

    [Fact]
    public void Include_selects_by_regex_and_json_reports_the_bytes()
    {
        string input = SaveModel();
        string output = _folder.File("q.safetensors");
        var result = CliRunner.Run("quantize", input, "-o", output, "--include", "router|q_proj", "--double-quant", "--blocksize", "32", "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(["model.layers.0.self_attn.q_proj.weight", "model.layers.0.mlp.router.weight"],
            root.GetProperty("quantized").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order().Reverse());
        Assert.Equal(24 * 40 + 7 * 9, root.GetProperty("parameters").GetInt64());
        Assert.Equal(24 * 40 * 4 + 7 * 9 * 2, root.GetProperty("bytes_before").GetInt64());
        Assert.True(root.GetProperty("double_quant").GetBoolean());
        Assert.Equal(6, root.GetProperty("copied").GetInt32());
        Assert.Equal(new FileInfo(output).Length, root.GetProperty("file_bytes").GetInt64());
    }

    [Fact]
    public void Bad_inputs_exit_1_with_one_line_naming_the_file_or_tensor_and_leave_no_output()
    {
        string input = SaveModel();
        string output = _folder.File("out.safetensors");
        string notSafetensors = _folder.File("junk.safetensors");
        File.WriteAllText(notSafetensors, "this is not a safetensors file at all");

        (string[] Args, string Expected)[] cases =
        [
            (["quantize", _folder.File("missing.safetensors"), "-o", output], "missing.safetensors: no such file"),
            (["quantize", notSafetensors, "-o", output], "junk.safetensors"),
            (["quantize", input, "-o", output, "--blocksize", "48"], "--blocksize 48"),
            (["quantize", input, "-o", output, "--include", "("], "--include '('"),
            (["quantize", input, "-o", input], "must be another file"),
            (["quantize", input, "-o", _folder.File("no/such/folder/out.safetensors")], "no/such/folder"),
            (["dequantize", notSafetensors, "-o", output], "junk.safetensors"),
        ];
        foreach (var (args, expected) in cases)
        {
            var result = CliRunner.Run(args);
            Assert.True(result.ExitCode == 1, $"{string.Join(' ', args)}: exit {result.ExitCode}, {result.Error}");
            Assert.Single(result.ErrorLines);
            Assert.StartsWith("error: ", result.ErrorLines[0]);
            Assert.Contains(expected, result.ErrorLines[0]);
        }
        Assert.False(File.Exists(output));
        Assert.DoesNotContain(Directory.GetFiles(_folder.Path), f => f.Contains(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public void A_corrupt_quantized_file_is_rejected_naming_the_file_and_tensor()
    {
        string input = SaveModel();
        string quantized = _folder.File("q.safetensors");
        Assert.Equal(0, CliRunner.Run("quantize", input, "-o", quantized).ExitCode);
        var tensors = Safetensors.Load(quantized);
        tensors["model.layers.0.self_attn.q_proj.weight.absmax"] = Tensor.Zeros(3);
        string corrupt = _folder.File("corrupt.safetensors");
        Safetensors.Save(corrupt, tensors);

        string output = _folder.File("out.safetensors");
        var result = CliRunner.Run("dequantize", corrupt, "-o", output);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"error: {corrupt}: tensor 'model.layers.0.self_attn.q_proj.weight.absmax': is F32 [3]; expected F32 [15] " +
                     "(absmax: the quant_state's shape [24, 40] with blocksize 64 needs nb = 15 float32 values)", Assert.Single(result.ErrorLines));
        Assert.False(File.Exists(output));

        tensors = Safetensors.Load(quantized);
        tensors["model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4"] = Tensor.Wrap("{\"quant_type\": "u8.ToArray(), 15);
        Safetensors.Save(corrupt, tensors);
        result = CliRunner.Run("dequantize", corrupt, "-o", output);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("tensor 'model.layers.0.self_attn.q_proj.weight.quant_state.bitsandbytes__nf4': the quant_state is not valid JSON", Assert.Single(result.ErrorLines));
    }

    [Fact]
    public void Bench_dequant_reports_gb_per_s_and_the_copy_ratio()
    {
        var result = CliRunner.Run("bench", "dequant", "--elements", "65536", "--budget-ms", "20", "--json");
        Assert.True(result.ExitCode == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.Equal(65536, root.GetProperty("elements").GetInt32());
        foreach (string key in new[] { "gb_per_s", "double_quant_gb_per_s", "copy_gb_per_s", "ratio", "double_quant_ratio" })
            Assert.True(root.GetProperty(key).GetDouble() > 0, key);
        // Every figure is printed rounded to 3 decimals (±0.0005), so gb/s ÷ copy gb/s matches the ratio within the
        // error that rounding propagates into a quotient (a fixed number of decimal places fails on slow runs).
        double gb = root.GetProperty("gb_per_s").GetDouble(), copy = root.GetProperty("copy_gb_per_s").GetDouble();
        double quotient = gb / copy, bound = 0.0005 + quotient * (0.0005 / gb + 0.0005 / (copy - 0.0005)) * 1.01;
        Assert.True(Math.Abs(quotient - root.GetProperty("ratio").GetDouble()) <= bound,
            $"ratio {root.GetProperty("ratio").GetDouble()} vs gb_per_s / copy_gb_per_s = {quotient} (bound {bound})");
        Assert.Equal(1, CliRunner.Run("bench", "dequant", "--elements", "0").ExitCode);
    }
}
