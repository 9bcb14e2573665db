using System.Text.Json;
using Peft.Net.Cli.Infrastructure;

namespace Peft.Net.Cli.Commands.Inspect;

/// <summary>
/// An adapter folder in HF PEFT layout: the fields of <c>adapter_config.json</c> and the tensors of
/// <c>adapter_model.safetensors</c>, whose element count is the adapter's trainable parameter count.
/// </summary>
internal sealed class AdapterReport(string path, JsonElement config, TensorFileReport weights) : IInspectReport
{
    public const string ConfigFile = "adapter_config.json";
    public const string WeightsFile = "adapter_model.safetensors";

    public string Path { get; } = path;

    /// <summary>The config's root object (a detached copy).</summary>
    public JsonElement Config { get; } = config;

    public TensorFileReport Weights { get; } = weights;

    public long TrainableParameters => Weights.Parameters;

    /// <exception cref="CliUserException">The config is not a JSON object, or the weights file is missing.</exception>
    public static AdapterReport Read(string folder)
    {
        string configPath = System.IO.Path.Combine(folder, ConfigFile);
        JsonElement config;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(configPath));
            config = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new CliUserException($"{configPath}: not valid JSON: {e.Message}", e);
        }
        if (config.ValueKind != JsonValueKind.Object)
            throw new CliUserException($"{configPath}: expected a JSON object, found {config.ValueKind}");
        string weightsPath = System.IO.Path.Combine(folder, WeightsFile);
        if (!File.Exists(weightsPath))
            throw new CliUserException($"{weightsPath}: missing (the folder has {ConfigFile}; only safetensors adapter weights are supported)");
        return new AdapterReport(folder, config, TensorFileReport.Read(weightsPath));
    }

    public void WriteText(CliConsole console)
    {
        console.Out.WriteLine($"{Path}: adapter, {Weights.Tensors.Count} tensors, {TrainableParameters} trainable parameters, " +
            $"{Weights.Bytes} bytes ({InspectFormat.Size(Weights.Bytes)}) in {WeightsFile}");
        TableOutput.Write(console, [new("Field"), new("Value")],
            Config.EnumerateObject().Select(p => new[] { p.Name, Render(p.Value) }).ToList());
    }

    public void WriteJson(Utf8JsonWriter json)
    {
        json.WriteString("path", Path);
        json.WriteString("kind", "adapter");
        json.WritePropertyName("config");
        Config.WriteTo(json);
        json.WriteString("weights_file", WeightsFile);
        json.WriteNumber("tensors", Weights.Tensors.Count);
        json.WriteNumber("bytes", Weights.Bytes);
        json.WriteNumber("trainable_parameters", TrainableParameters);
    }

    /// <summary>A config value on one line: strings bare, lists comma-separated, anything else as compact JSON.</summary>
    private static string Render(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Array when value.EnumerateArray().All(v => v.ValueKind is JsonValueKind.String or JsonValueKind.Number) =>
            string.Join(", ", value.EnumerateArray().Select(Render)),
        _ => value.GetRawText().ReplaceLineEndings(" "),
    };
}
