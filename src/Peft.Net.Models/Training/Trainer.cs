using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Peft.Net.Core;
using Peft.Net.Core.IO;
using Peft.Net.Core.Nn;
using Peft.Net.Core.Optim;
using Peft.Net.Lora;

namespace Peft.Net.Models.Training;

/// <summary>
/// A compact supervised fine-tuning loop: seeded shuffled batches, gradient accumulation (token-weighted, so
/// accumulating k micro-batches equals one k-times larger batch), a warm-up + decay learning-rate schedule, gradient
/// clipping, periodic held-out evaluation, a guard that skips steps with a non-finite loss or gradient norm, atomic
/// checkpoints that resume to the same loss curve bit for bit, a CSV log and an SVG loss plot. It reports through an
/// <see cref="ILogger"/> and an <see cref="IProgress{T}"/>; it never writes to the console.
/// </summary>
public sealed class Trainer
{
    /// <summary>File of the trainable parameters inside a checkpoint folder (F32, by module name; used to resume).</summary>
    public const string ParametersFileName = "trainable_parameters.safetensors";

    /// <summary>File of the optimizer state inside a checkpoint folder (<see cref="OptimizerState.WriteTo"/>).</summary>
    public const string OptimizerFileName = "optimizer.bin";

    private readonly ICausalLanguageModel _model;
    private readonly IReadOnlyList<TokenizedExample> _train;
    private readonly IReadOnlyList<TokenizedExample> _eval;
    private readonly TrainerOptions _options;
    private readonly ILogger _logger;
    private readonly (string Name, Tensor Parameter)[] _trainable;
    private readonly DataOrder _order;
    private readonly LrSchedule _schedule;
    private readonly List<TrainingLogEntry> _history = [];
    private LrScheduler _scheduler;
    private int _consecutiveSkips;

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model; its trainable parameters are optimised (freeze the rest first, e.g. with ApplyLora).</param>
    /// <param name="trainData">The training examples.</param>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="evalData">Held-out examples for the evaluation loss (none: no evaluation).</param>
    /// <param name="optimizer">The optimizer over the model's trainable parameters (e.g. LoRA+); null builds AdamW from <paramref name="options"/>.</param>
    /// <param name="logger">Receives one line per logged step, evaluations, skipped steps and checkpoints.</param>
    /// <exception cref="ArgumentException">No training examples, no trainable parameters, invalid options, or gradient checkpointing asked of a model without a <see cref="LlamaModel"/>.</exception>
    public Trainer(ICausalLanguageModel model, IReadOnlyList<TokenizedExample> trainData, TrainerOptions options,
        IReadOnlyList<TokenizedExample>? evalData = null, Optimizer? optimizer = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (trainData.Count == 0) throw new ArgumentException("The training set is empty.", nameof(trainData));
        _model = model;
        _train = trainData;
        _eval = evalData ?? [];
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        _trainable = model.Module.NamedParameters().Where(p => p.Parameter.RequiresGrad && seen.Add(p.Parameter)).ToArray();
        if (_trainable.Length == 0)
            throw new ArgumentException("The model has no trainable parameters: apply an adapter (e.g. ApplyLora) or unfreeze some parameters.", nameof(model));
        if (options.GradientCheckpointing)
            EnableGradientCheckpointing(model.Module);
        Optimizer = optimizer ?? new AdamW(_trainable.Select(p => p.Parameter), options.LearningRate, weightDecay: options.WeightDecay);
        int microBatchesPerEpoch = (trainData.Count + options.BatchSize - 1) / options.BatchSize;
        int stepsPerEpoch = (microBatchesPerEpoch + options.GradientAccumulationSteps - 1) / options.GradientAccumulationSteps;
        TotalSteps = options.MaxSteps ?? checked(options.Epochs * stepsPerEpoch);
        int warmup = options.WarmupSteps ?? (TotalSteps >= 10 ? (int)Math.Ceiling(0.03 * TotalSteps) : 0);
        _schedule = options.Schedule switch
        {
            LrScheduleKind.Constant => LrSchedule.ConstantWithWarmup(warmup),
            LrScheduleKind.Linear => LrSchedule.LinearWithWarmup(warmup, TotalSteps),
            _ => LrSchedule.CosineWithWarmup(warmup, TotalSteps),
        };
        _scheduler = new LrScheduler(Optimizer, _schedule);
        _order = new DataOrder(trainData.Count, options.Seed);
    }

    private static void EnableGradientCheckpointing(Module model)
    {
        var stacks = model.NamedModules().Select(m => m.Module).OfType<LlamaModel>().ToList();
        if (stacks.Count == 0)
            throw new ArgumentException("GradientCheckpointing is set but the model holds no LlamaModel stack to checkpoint.", nameof(model));
        foreach (var stack in stacks) stack.GradientCheckpointing = true;
    }

    /// <summary>Creates a trainer for a <see cref="LlamaForCausalLM"/>; see the main constructor.</summary>
    public Trainer(LlamaForCausalLM model, IReadOnlyList<TokenizedExample> trainData, TrainerOptions options,
        IReadOnlyList<TokenizedExample>? evalData = null, Optimizer? optimizer = null, ILogger? logger = null)
        : this(new LlamaCausalLanguageModel(model), trainData, options, evalData, optimizer, logger)
    {
    }

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Optimizer steps taken (including skipped ones).</summary>
    public int Step { get; private set; }

    /// <summary>Steps of the whole run.</summary>
    public int TotalSteps { get; }

    /// <summary>Steps skipped so far for a non-finite loss or gradient norm.</summary>
    public int SkippedSteps { get; private set; }

    /// <summary>One entry per step taken.</summary>
    public IReadOnlyList<TrainingLogEntry> History => _history;

    /// <summary>
    /// Generators whose state is saved in checkpoints and restored by <see cref="Resume"/> besides the data order's and
    /// the model's own, in this order. The model's generators — every <see cref="Dropout"/> module (LoRA/DoRA/QLoRA
    /// adapter dropout) and NEFTune's noise — are found and checkpointed by module path without being listed here; add
    /// only generators that live outside the model's module tree.
    /// </summary>
    public IList<TensorRandom> CheckpointedRandomGenerators { get; } = new List<TensorRandom>();

    /// <summary>Test hook: called with the temporary checkpoint folder once its files are written, before it is renamed.</summary>
    internal Action<string>? BeforeCheckpointCommit { get; set; }

    /// <summary>
    /// Trains until <see cref="TotalSteps"/> or until <paramref name="cancellationToken"/> is cancelled, which stops at
    /// the next step boundary and writes a checkpoint (with an output folder). Evaluates at the end, writes the CSV
    /// log and SVG plot into the output folder, and returns how the run ended.
    /// </summary>
    /// <exception cref="TrainingDivergedException">
    /// <see cref="TrainerOptions.MaxConsecutiveSkippedSteps"/> consecutive steps had a non-finite loss or gradient norm.
    /// </exception>
    public TrainingResult Train(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        string? lastCheckpoint = null;
        bool cancelled = false;
        double? lastEval = _history.LastOrDefault(e => e.EvalLoss is not null)?.EvalLoss;
        _model.Module.Train();
        _logger.LogInformation("Training {Steps} steps ({Done} done): {Examples} examples, batch {Batch} × {Accumulation} accumulation, {Parameters} trainable parameters",
            TotalSteps, Step, _train.Count, _options.BatchSize, _options.GradientAccumulationSteps, _trainable.Sum(p => (long)p.Parameter.Count));
        while (Step < TotalSteps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                cancelled = true;
                _logger.LogInformation("Cancelled at step {Step}", Step);
                break;
            }
            var entry = TrainStep();
            bool evaluate = _eval.Count > 0 && (Step == TotalSteps || (_options.EvalEvery > 0 && Step % _options.EvalEvery == 0));
            if (evaluate)
            {
                lastEval = Evaluate();
                entry = entry with { EvalLoss = lastEval };
                _logger.LogInformation("Step {Step}: eval loss {EvalLoss:F4}", Step, lastEval);
            }
            _history.Add(entry);
            if (Step % _options.LogEvery == 0 || Step == TotalSteps)
                _logger.LogInformation("Step {Step}/{Total}: loss {Loss:F4}, lr {LearningRate:G3}, {TokensPerSecond:F0} tokens/s",
                    Step, TotalSteps, entry.Loss, entry.LearningRate, entry.TokensPerSecond);
            progress?.Report(new TrainingProgress(Step, TotalSteps, entry.Loss, entry.LearningRate, entry.TokensPerSecond, entry.EvalLoss, _consecutiveSkips > 0));
            if (_options.CheckpointEvery > 0 && Step % _options.CheckpointEvery == 0)
                lastCheckpoint = SaveCheckpoint();
            if (_order.Position >= _train.Count)
                _model.ReleaseCachedMemory(); // the epoch is done: its buffers were sized for its batches
        }
        _model.ReleaseCachedMemory();
        if (cancelled && _options.OutputDirectory is not null)
            lastCheckpoint = SaveCheckpoint();
        if (_options.OutputDirectory is not null)
            WriteLog(_options.OutputDirectory);
        return new TrainingResult(Step, _history.Count > 0 ? _history[^1].Loss : double.NaN, lastEval, SkippedSteps, cancelled, lastCheckpoint, clock.Elapsed);
    }

    /// <summary>The token-weighted mean loss over the evaluation set, in evaluation mode without gradients (NaN without evaluation data).</summary>
    public double Evaluate()
    {
        if (_eval.Count == 0) return double.NaN;
        bool wasTraining = _model.Module.IsTraining;
        _model.Module.Eval();
        try
        {
            using var noGrad = Tensor.NoGrad();
            double sum = 0;
            long tokens = 0;
            for (int start = 0; start < _eval.Count; start += _options.EvalBatchSize)
            {
                var batch = TrainingBatch.Collate(_eval.Skip(start).Take(_options.EvalBatchSize).ToArray(), _options.PadTokenId);
                if (batch.LossTokenCount == 0) continue;
                sum += (double)LossValue(_model.Loss(batch.InputIds, batch.Labels, batch.Batch, batch.Time)) * batch.LossTokenCount;
                tokens += batch.LossTokenCount;
            }
            return tokens == 0 ? double.NaN : sum / tokens;
        }
        finally
        {
            _model.Module.Train(wasTraining);
        }
    }

    private TrainingLogEntry TrainStep()
    {
        var clock = Stopwatch.StartNew();
        var batches = new TrainingBatch[_options.GradientAccumulationSteps];
        int lossTokens = 0, tokens = 0;
        for (int i = 0; i < batches.Length; i++)
        {
            var indices = _order.NextBatch(_options.BatchSize);
            batches[i] = TrainingBatch.Collate(indices.Select(j => _train[j]).ToArray(), _options.PadTokenId);
            lossTokens += batches[i].LossTokenCount;
            tokens += batches[i].TokenCount;
        }
        double learningRate = Optimizer.ParamGroups[0].LearningRate;
        Optimizer.ZeroGrad();
        double loss = 0;
        foreach (var batch in batches)
        {
            if (batch.LossTokenCount == 0) continue;
            var batchLoss = _model.Loss(batch.InputIds, batch.Labels, batch.Batch, batch.Time);
            float value = LossValue(batchLoss);
            double weight = (double)batch.LossTokenCount / lossTokens;
            loss += value * weight;
            if (float.IsFinite(value))
                Ops.MulScalar(batchLoss, (float)weight).Backward();
        }
        double norm = GradientClipping.ClipByGlobalNorm(_trainable.Select(p => p.Parameter), _options.MaxGradNorm > 0 ? _options.MaxGradNorm : double.MaxValue);
        if (double.IsFinite(loss) && double.IsFinite(norm))
        {
            Optimizer.Step();
            _consecutiveSkips = 0;
        }
        else
        {
            SkippedSteps++;
            _consecutiveSkips++;
            string problem = !double.IsFinite(loss) ? $"loss {loss}" : $"gradient norm {norm}";
            _logger.LogWarning("Step {Step}: skipped, {Problem} ({Consecutive} in a row)", Step + 1, problem, _consecutiveSkips);
            if (_consecutiveSkips >= _options.MaxConsecutiveSkippedSteps)
            {
                Optimizer.ZeroGrad();
                throw new TrainingDivergedException(Step + 1, _consecutiveSkips, problem);
            }
        }
        Optimizer.ZeroGrad();
        _scheduler.Step();
        Step++;
        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return new TrainingLogEntry(Step, loss, null, learningRate, tokens / seconds);
    }

    private static float LossValue(Tensor loss) => loss.AsSpan()[0];

    /// <summary>
    /// Writes <c>&lt;output&gt;/checkpoint-&lt;step&gt;/</c>: the trainable parameters, the adapter in HF PEFT layout
    /// (when the model has one), the optimizer state and
    /// <c>trainer_state.json</c> (step, schedule step, data order and its generator state, the states of the model's dropout and NEFTune generators, the log so far). Every file is
    /// written to a temporary name and renamed, inside a temporary folder that is renamed last, so a crash never leaves a
    /// partial checkpoint. Returns the folder.
    /// </summary>
    /// <exception cref="InvalidOperationException">The options have no output folder.</exception>
    public string SaveCheckpoint()
    {
        string output = _options.OutputDirectory ?? throw new InvalidOperationException("The trainer has no OutputDirectory to write checkpoints into.");
        Directory.CreateDirectory(output);
        string final = Path.Combine(output, $"checkpoint-{Step}");
        string temp = Path.Combine(output, $".checkpoint-{Step}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            var parameters = _trainable.ToDictionary(p => p.Name, p => p.Parameter, StringComparer.Ordinal);
            Safetensors.Save(Path.Combine(temp, ParametersFileName), parameters);
            AtomicFile.Write(Path.Combine(temp, OptimizerFileName), stream => Optimizer.StateDict().WriteTo(stream));
            var state = new TrainerState
            {
                Step = Step,
                TotalSteps = TotalSteps,
                SchedulerStep = _scheduler.CurrentStep,
                Epoch = _order.Epoch,
                DataPosition = _order.Position,
                DataRandomState = _order.EpochStartState,
                Seed = _options.Seed,
                TrainExamples = _train.Count,
                SkippedSteps = SkippedSteps,
                ConsecutiveSkippedSteps = _consecutiveSkips,
                LogHistory = [.. _history],
                ExtraRandomStates = CheckpointedRandomGenerators.Select(r => r.GetState()).ToList(),
                ModuleRandomStates = ModelRandomStreams.Collect(_model.Module).ToDictionary(s => s.Key, s => s.Random.GetState(), StringComparer.Ordinal),
            };
            AtomicFile.WriteAllText(Path.Combine(temp, TrainerState.FileName), state.Serialize());
            if (_model.Module.AdapterConfigs().Count > 0)
                _model.Module.SaveAdapter(temp, _model.Module.ActiveAdapter() ?? "default");
            BeforeCheckpointCommit?.Invoke(temp);
            if (Directory.Exists(final))
            {
                string old = Path.Combine(output, $".checkpoint-{Step}.{Guid.NewGuid():N}.old");
                Directory.Move(final, old);
                Directory.Move(temp, final);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, final);
            }
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
        _logger.LogInformation("Step {Step}: checkpoint written to {Folder}", Step, final);
        return final;
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/>: trainable parameters, optimizer state, schedule
    /// step, data order, every generator of the model (adapter dropout, NEFTune) and log, so that <see cref="Train"/> continues the same loss curve as an uninterrupted run with
    /// the same seed, data and options. Call it on a freshly built trainer over the same model layout.
    /// </summary>
    /// <exception cref="FileNotFoundException">A checkpoint file is missing.</exception>
    /// <exception cref="InvalidDataException">The checkpoint does not match this model, dataset or optimizer.</exception>
    public void Resume(string checkpointDirectory)
    {
        ArgumentNullException.ThrowIfNull(checkpointDirectory);
        if (!Directory.Exists(checkpointDirectory))
            throw new DirectoryNotFoundException($"{checkpointDirectory}: no such checkpoint folder.");
        string statePath = Path.Combine(checkpointDirectory, TrainerState.FileName);
        string parametersPath = Path.Combine(checkpointDirectory, ParametersFileName);
        string optimizerPath = Path.Combine(checkpointDirectory, OptimizerFileName);
        foreach (var path in new[] { statePath, parametersPath, optimizerPath })
            if (!File.Exists(path)) throw new FileNotFoundException($"{path}: missing from the checkpoint.", path);
        var state = TrainerState.Read(statePath);
        if (state.TrainExamples != _train.Count)
            throw new InvalidDataException($"{statePath}: the checkpoint was trained on {state.TrainExamples} examples; this run has {_train.Count}.");
        if (state.Seed != _options.Seed)
            _logger.LogWarning("Resuming a run made with seed {Saved} using seed {Seed}: the data order follows the checkpoint", state.Seed, _options.Seed);
        if (state.TotalSteps != TotalSteps)
            _logger.LogWarning("The checkpoint's run had {Saved} steps, this one has {Total}: the learning-rate schedule differs", state.TotalSteps, TotalSteps);

        var saved = Safetensors.Load(parametersPath);
        foreach (var (name, parameter) in _trainable)
        {
            if (!saved.TryGetValue(name, out var tensor))
                throw new InvalidDataException($"{parametersPath}: no tensor '{name}' for the trainable parameter {parameter.Describe()}.");
            if (!tensor.ShapeArray().SequenceEqual(parameter.ShapeArray()) || tensor.DType != DType.F32)
                throw new InvalidDataException($"{parametersPath}: '{name}' is {tensor.Describe()}; the model's parameter is {parameter.Describe()}.");
        }
        OptimizerState optimizerState;
        using (var stream = File.OpenRead(optimizerPath))
            optimizerState = OptimizerState.ReadFrom(stream);
        try
        {
            Optimizer.LoadStateDict(optimizerState);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{optimizerPath}: {e.Message}", e);
        }
        if (state.ExtraRandomStates.Count != CheckpointedRandomGenerators.Count)
            throw new InvalidDataException(
                $"{statePath}: the checkpoint holds {state.ExtraRandomStates.Count} extra generator states; this trainer checkpoints {CheckpointedRandomGenerators.Count}.");
        var modelStreams = ModelRandomStreams.Collect(_model.Module);
        if (state.ModuleRandomStates is { } moduleStates)
        {
            foreach (var (key, _) in modelStreams)
                if (!moduleStates.ContainsKey(key))
                    throw new InvalidDataException($"{statePath}: no generator state for '{key}'; the checkpoint was made with another model or adapter layout.");
            foreach (var key in moduleStates.Keys)
                if (!modelStreams.Any(s => s.Key == key))
                    throw new InvalidDataException($"{statePath}: the checkpoint holds a generator state for '{key}', which this model does not have.");
        }
        else if (modelStreams.Count > 0)
        {
            _logger.LogWarning("{Folder} predates saved dropout/NEFTune generator states: the resumed run's noise differs from an uninterrupted one", checkpointDirectory);
        }
        foreach (var (name, parameter) in _trainable)
            saved[name].AsSpan().CopyTo(parameter.AsSpan());
        if (state.ModuleRandomStates is { } states)
            foreach (var (key, random) in modelStreams)
                random.SetState(states[key]);
        for (int i = 0; i < CheckpointedRandomGenerators.Count; i++)
            CheckpointedRandomGenerators[i].SetState(state.ExtraRandomStates[i]);
        _scheduler = new LrScheduler(Optimizer, _schedule, state.SchedulerStep);
        _order.Restore(state.Epoch, state.DataPosition, state.DataRandomState);
        Step = state.Step;
        SkippedSteps = state.SkippedSteps;
        _consecutiveSkips = state.ConsecutiveSkippedSteps;
        _history.Clear();
        _history.AddRange(state.LogHistory);
        _logger.LogInformation("Resumed from {Folder} at step {Step}", checkpointDirectory, Step);
    }

    /// <summary>Writes <see cref="TrainingLog.CsvFileName"/> and <see cref="TrainingLog.SvgFileName"/> of the history into <paramref name="directory"/>.</summary>
    public void WriteLog(string directory)
    {
        Directory.CreateDirectory(directory);
        TrainingLog.WriteCsv(Path.Combine(directory, TrainingLog.CsvFileName), _history);
        TrainingLog.WriteSvg(Path.Combine(directory, TrainingLog.SvgFileName), _history);
    }
}
