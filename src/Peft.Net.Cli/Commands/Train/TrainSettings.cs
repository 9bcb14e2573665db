using Peft.Net.Quantization;

namespace Peft.Net.Cli.Commands.Train;

/// <summary>The parsed options of <c>peft train</c>; <see cref="Quantization"/> is the 4-bit base of --method qlora.</summary>
internal sealed record TrainSettings(
    string Model,
    string Data,
    string Output,
    string Method,
    int Rank,
    float Alpha,
    float Dropout,
    string Target,
    double LearningRate,
    double LoraPlusRatio,
    float NeftuneAlpha,
    int? Steps,
    int Epochs,
    int Batch,
    int GradientAccumulation,
    int Seq,
    ulong Seed,
    double EvalFraction,
    int EvalEvery,
    int SaveEvery,
    string? Resume,
    bool GradientCheckpointing,
    bool Json,
    bool Verbose,
    FourBitQuantization? Quantization = null,
    string Optim = "adamw",
    string Format = "auto",
    bool TrainOnAll = false,
    string Bias = "none");
