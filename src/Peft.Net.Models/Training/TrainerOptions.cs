namespace Peft.Net.Models.Training;

/// <summary>The learning-rate schedule after warm-up.</summary>
public enum LrScheduleKind
{
    /// <summary>Constant after warm-up.</summary>
    Constant,

    /// <summary>Linear decay to 0 at the last step.</summary>
    Linear,

    /// <summary>Half a cosine down to 0 at the last step.</summary>
    Cosine,
}

/// <summary>Settings of a <see cref="Trainer"/> run. The defaults suit LoRA fine-tuning.</summary>
public sealed record TrainerOptions
{
    /// <summary>Optimizer steps to take; null derives them from <see cref="Epochs"/>.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Passes over the training set when <see cref="MaxSteps"/> is null.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Examples per micro-batch.</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Micro-batches whose gradients are summed before each optimizer step (effective batch = BatchSize × this).</summary>
    public int GradientAccumulationSteps { get; init; } = 1;

    /// <summary>Peak learning rate (used by the default AdamW; a supplied optimizer keeps its own).</summary>
    public double LearningRate { get; init; } = 2e-4;

    /// <summary>Weight decay of the default AdamW.</summary>
    public double WeightDecay { get; init; }

    /// <summary>Linear warm-up steps; null uses 3 % of the steps (at least 1 when there are ≥ 10 steps).</summary>
    public int? WarmupSteps { get; init; }

    /// <summary>The schedule after warm-up.</summary>
    public LrScheduleKind Schedule { get; init; } = LrScheduleKind.Cosine;

    /// <summary>Gradient clipping by global norm; 0 disables clipping (the norm is still computed for the non-finite guard).</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Evaluate every this many steps (and after the last); 0 evaluates after the last step only.</summary>
    public int EvalEvery { get; init; }

    /// <summary>Examples per evaluation batch.</summary>
    public int EvalBatchSize { get; init; } = 8;

    /// <summary>Write a checkpoint every this many steps (needs <see cref="OutputDirectory"/>); 0 disables periodic checkpoints.</summary>
    public int CheckpointEvery { get; init; }

    /// <summary>Where checkpoints (<c>checkpoint-&lt;step&gt;</c>), the CSV log and the SVG plot go; null writes nothing.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>Consecutive steps with a non-finite loss or gradient norm after which training stops with <see cref="TrainingDivergedException"/>.</summary>
    public int MaxConsecutiveSkippedSteps { get; init; } = 5;

    /// <summary>Seed of the data order (and of the evaluation split when the caller uses <see cref="ExampleBuilder.Split"/> with it).</summary>
    public ulong Seed { get; init; }

    /// <summary>Id used to pad batches on the right (its labels are −100, so its value only matters for the embedding lookup).</summary>
    public int PadTokenId { get; init; }

    /// <summary>Log a line every this many steps (≥ 1).</summary>
    public int LogEvery { get; init; } = 1;

    /// <summary>
    /// Turn on gradient checkpointing (<see cref="LlamaModel.GradientCheckpointing"/>) in every Llama stack of the model
    /// (Hugging Face's <c>gradient_checkpointing=True</c>): less activation memory for one more forward pass of the
    /// layers per step, the same losses and gradients. False leaves the model's own setting as it is.
    /// </summary>
    public bool GradientCheckpointing { get; init; }

    internal void Validate()
    {
        if (MaxSteps is <= 0) throw new ArgumentOutOfRangeException(nameof(MaxSteps), MaxSteps, "MaxSteps must be positive.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Epochs, nameof(Epochs));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize, nameof(BatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(GradientAccumulationSteps, nameof(GradientAccumulationSteps));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(EvalBatchSize, nameof(EvalBatchSize));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxConsecutiveSkippedSteps, nameof(MaxConsecutiveSkippedSteps));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(LogEvery, nameof(LogEvery));
        ArgumentOutOfRangeException.ThrowIfNegative(EvalEvery, nameof(EvalEvery));
        ArgumentOutOfRangeException.ThrowIfNegative(CheckpointEvery, nameof(CheckpointEvery));
        if (WarmupSteps is < 0) throw new ArgumentOutOfRangeException(nameof(WarmupSteps), WarmupSteps, "WarmupSteps must be ≥ 0.");
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
            throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive and finite.");
        if (!(MaxGradNorm >= 0) || !double.IsFinite(MaxGradNorm))
            throw new ArgumentOutOfRangeException(nameof(MaxGradNorm), MaxGradNorm, "MaxGradNorm must be ≥ 0 and finite.");
        if (CheckpointEvery > 0 && OutputDirectory is null)
            throw new ArgumentException("CheckpointEvery needs an OutputDirectory to write the checkpoints into.", nameof(CheckpointEvery));
    }
}
