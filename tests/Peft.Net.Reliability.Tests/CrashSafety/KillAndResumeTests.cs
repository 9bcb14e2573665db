using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Peft.Net.Core;
using Peft.Net.Lora;
using Peft.Net.Models;
using Peft.Net.Models.Data;
using Peft.Net.Models.Training;
using Peft.Net.Reliability.Tests.Testing;

namespace Peft.Net.Reliability.Tests.CrashSafety;

/// <summary>
/// A real `peft train` process killed mid-run leaves only complete checkpoints, the last one loads, and <c>--resume</c>
/// from it ends with the same adapter, bit for bit, as an uninterrupted run with the same seed.
/// </summary>
public sealed partial class KillAndResumeTests : IDisposable
{
    private const int Steps = 60;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan FirstCheckpointTimeout = TimeSpan.FromSeconds(60);

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void KilledRunResumesToTheUninterruptedResult()
    {
        string model = TinyModel(), data = Dataset();
        string killed = _folder.File("killed"), straight = _folder.File("straight");
        string[] common = ["train", "--model", model, "--data", data, "--steps", Steps.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--batch", "4", "--seq", "64", "--rank", "4", "--lr", "1e-3", "--seed", "7", "--eval-fraction", "0", "--save-every", "2", "--json"];

        int killedAt = KillAfterFirstCheckpoint([.. common, "-o", killed]);

        string last = AssertOnlyCompleteCheckpoints(killed);
        int lastStep = CheckpointStep(last);
        Assert.True(lastStep >= 2 && lastStep < Steps, $"the last checkpoint {last} is not mid-run (the run was killed after {killedAt} checkpoint(s))");
        AssertCheckpointLoads(model, last, lastStep);

        var resumed = CliProcess.Run(RunTimeout, [.. common, "-o", killed, "--resume", last]);
        Assert.True(resumed.ExitCode == 0, $"resume from {last} failed: {resumed.Error}");
        var uninterrupted = CliProcess.Run(RunTimeout, [.. common, "-o", straight]);
        Assert.True(uninterrupted.ExitCode == 0, $"uninterrupted run failed: {uninterrupted.Error}");

        using (var json = JsonDocument.Parse(resumed.Out))
            Assert.Equal(Steps, json.RootElement.GetProperty("steps").GetInt32());
        string[] adapterFiles = ["adapter_model.safetensors", "adapter_config.json"];
        foreach (string file in adapterFiles)
            Assert.True(File.ReadAllBytes(Path.Combine(straight, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(killed, file))),
                $"{file} after resuming from step {lastStep} differs from the uninterrupted run's");
        Assert.Equal(LossColumns(straight), LossColumns(killed));
    }

    /// <summary>Starts the run, waits for its first committed checkpoint, kills the process tree; returns how many checkpoints there were.</summary>
    private static int KillAfterFirstCheckpoint(string[] args)
    {
        string output = args[Array.IndexOf(args, "-o") + 1];
        using var process = CliProcess.Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            while (Checkpoints(output).Length == 0)
            {
                if (process.HasExited)
                    Assert.Fail($"peft train exited (code {process.ExitCode}) before writing its first checkpoint: {stderr.Result}");
                if (clock.Elapsed > FirstCheckpointTimeout)
                    Assert.Fail($"no checkpoint appeared in {output} within {FirstCheckpointTimeout.TotalSeconds} s");
                Thread.Sleep(10);
            }
            Assert.False(process.HasExited, $"peft train finished all {Steps} steps before it could be killed; raise Steps");
            process.Kill(entireProcessTree: true);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the killed process did not exit");
            return Checkpoints(output).Length;
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Every visible <c>checkpoint-N</c> folder is complete (temporary names start with '.'); returns the latest.</summary>
    private static string AssertOnlyCompleteCheckpoints(string output)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(output))
        {
            string name = Path.GetFileName(entry);
            Assert.True(name.StartsWith('.') || CheckpointName().IsMatch(name), $"{entry}: unexpected entry in the output of a killed run");
        }
        string[] checkpoints = Checkpoints(output);
        Assert.NotEmpty(checkpoints);
        foreach (string checkpoint in checkpoints)
        {
            foreach (string file in new[] { TrainerStateFile, Trainer.ParametersFileName, Trainer.OptimizerFileName, "adapter_model.safetensors", "adapter_config.json" })
                Assert.True(File.Exists(Path.Combine(checkpoint, file)), $"{checkpoint}: {file} is missing from a visible checkpoint");
            Assert.Empty(Directory.GetFiles(checkpoint, ".*"));
        }
        return checkpoints.MaxBy(CheckpointStep)!;
    }

    private static void AssertCheckpointLoads(string modelDir, string checkpoint, int step)
    {
        var model = LlamaForCausalLM.FromPretrained(modelDir);
        var config = model.LoadAdapter(checkpoint);
        Assert.Equal(4, config.R);
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(checkpoint, TrainerStateFile)));
        Assert.Equal(step, state.RootElement.GetProperty("step").GetInt32());
        Assert.Equal(Steps, state.RootElement.GetProperty("total_steps").GetInt32());
    }

    /// <summary>The training log without its timing column (tokens/s), one row per step.</summary>
    private static string[] LossColumns(string output)
    {
        var lines = File.ReadAllLines(Path.Combine(output, TrainingLog.CsvFileName));
        var header = lines[0].Split(',');
        int timing = Array.FindIndex(header, h => h.Contains("token", StringComparison.OrdinalIgnoreCase) || h.Contains("second", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(Steps + 1, lines.Length);
        return lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != timing))).ToArray();
    }

    private const string TrainerStateFile = "trainer_state.json";

    private static string[] Checkpoints(string output) =>
        Directory.Exists(output) ? Directory.GetDirectories(output).Where(d => CheckpointName().IsMatch(Path.GetFileName(d))).ToArray() : [];

    private static int CheckpointStep(string folder) =>
        int.Parse(Path.GetFileName(folder).AsSpan("checkpoint-".Length), System.Globalization.CultureInfo.InvariantCulture);

    [GeneratedRegex("^checkpoint-[0-9]+$")]
    private static partial Regex CheckpointName();

    /// <summary>A random Llama with the byte tokenizer's vocabulary (no tokenizer.json, so `peft train` uses <see cref="Peft.Net.Models.Tokenization.ByteTokenizer"/>).</summary>
    private string TinyModel()
    {
        var config = new LlamaConfig
        {
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            VocabSize = 300,
            MaxPositionEmbeddings = 128,
            EosTokenIds = [257],
        };
        string dir = _folder.Folder("model");
        new LlamaForCausalLM(config, new TensorRandom(1)).SavePretrained(dir);
        return dir;
    }

    private string Dataset()
    {
        string path = _folder.File("data.jsonl");
        JsonlDataset.Save(path, new DemoDataGenerator(3).Generate(64));
        return path;
    }
}
