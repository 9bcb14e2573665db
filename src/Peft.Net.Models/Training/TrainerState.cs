using System.Text.Json;
using System.Text.Json.Serialization;

namespace Peft.Net.Models.Training;

/// <summary>The trainer's part of a checkpoint (<c>trainer_state.json</c>): where the run is and how it got there.</summary>
internal sealed class TrainerState
{
    public const string FileName = "trainer_state.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public int Step { get; set; }

    public int TotalSteps { get; set; }

    public int SchedulerStep { get; set; }

    public int Epoch { get; set; }

    public int DataPosition { get; set; }

    public ulong[] DataRandomState { get; set; } = [];

    public ulong Seed { get; set; }

    public int TrainExamples { get; set; }

    public int SkippedSteps { get; set; }

    public int ConsecutiveSkippedSteps { get; set; }

    public List<ulong[]> ExtraRandomStates { get; set; } = [];

    /// <summary>The model's own generators (dropout, NEFTune) by module path; null in checkpoints written before they were saved.</summary>
    public Dictionary<string, ulong[]>? ModuleRandomStates { get; set; }

    public List<TrainingLogEntry> LogHistory { get; set; } = [];

    public string Serialize() => JsonSerializer.Serialize(this, Json);

    public static TrainerState Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainerState>(File.ReadAllText(path), Json)
                   ?? throw new InvalidDataException($"{path}: the trainer state is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid trainer state ({e.Message}).", e);
        }
    }
}
